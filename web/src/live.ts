/**
 * Live claim changes from GET /v1/events (server-sent events read with fetch streaming, so the
 * bearer token goes in a header): open pages and queues subscribe and reload what changed.
 * Reconnects with a growing pause when the stream ends.
 */
import { authHeaders } from './api/client';

export interface ClaimChange {
  id: string;
  status: string;
  version: number;
  at: string;
}

type Listener = (change: ClaimChange) => void;
const listeners = new Set<Listener>();
let controller: AbortController | undefined;
let connected = false;
const statusListeners = new Set<(connected: boolean) => void>();

export function onClaimChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

export function onLiveStatus(listener: (connected: boolean) => void): () => void {
  statusListeners.add(listener);
  listener(connected);
  return () => void statusListeners.delete(listener);
}

function setConnected(value: boolean) {
  connected = value;
  statusListeners.forEach((l) => l(value));
}

export function startLive(): void {
  stopLive();
  const ours = new AbortController();
  controller = ours;
  void (async () => {
    let pause = 1000;
    while (!ours.signal.aborted) {
      try {
        const res = await fetch('/v1/events', { headers: { ...authHeaders(), Accept: 'text/event-stream' }, signal: ours.signal });
        if (res.status === 404 || res.status === 401 || res.status === 403) return; // no stream here, or not for this user
        if (!res.ok || !res.body) throw new Error(String(res.status));
        setConnected(true);
        pause = 1000;
        await readEvents(res.body, (type, data) => {
          if (type !== 'claim') return;
          const change = JSON.parse(data) as ClaimChange;
          listeners.forEach((l) => l(change));
        });
      } catch {
        // Reconnect below.
      }
      setConnected(false);
      if (ours.signal.aborted) return;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 30_000);
    }
  })();
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
  setConnected(false);
}

/** Parses a text/event-stream body: calls `onEvent(type, data)` per event; comment lines are keep-alives. */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (type: string, data: string) => void) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const [field, ...rest] = line.split(':');
        const text = rest.join(':').replace(/^ /, '');
        if (field === 'event') type = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length) onEvent(type, data.join('\n'));
    }
  }
}
