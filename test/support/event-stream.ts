/**
 * Reading GET /v1/events as the dashboard does: a streaming fetch with the bearer token,
 * against the app listening on a free port. Collects what arrives, parsed into events.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

export interface EventStream {
  status: number;
  contentType: string | null;
  /** Everything received so far, as text. */
  text(): string;
  events(): StreamEvent[];
  /** Resolves when an event matching `predicate` has arrived; rejects after `timeoutMs`. */
  waitFor(predicate: (event: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves when the text received so far matches `pattern`. */
  waitForText(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the server has ended the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Listens with `app` on 127.0.0.1 until `close`. */
export async function listen(app: Express): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parse(text: string): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
    if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
  }
  return events;
}

/** Opens the stream at `url` (a full URL) with `authorization`. */
export async function openEventStream(url: string, authorization?: string): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: authorization ? { authorization } : {}, signal: abort.signal });
  let received = '';
  const waiters = new Set<() => void>();
  const pump = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        received += decoder.decode(chunk as Uint8Array, { stream: true });
        for (const wake of [...waiters]) wake();
      }
    } catch {
      // aborted
    }
  })();
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const found = check();
      if (found !== undefined) return resolve(found);
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`no ${what} within ${timeoutMs} ms; received:\n${received}`));
      }, timeoutMs);
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(value);
      };
      waiters.add(wake);
    });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    text: () => received,
    events: () => parse(received),
    waitFor: (predicate, timeoutMs = 5_000) => until(() => parse(received).find(predicate), timeoutMs, 'matching event'),
    waitForText: (pattern, timeoutMs = 5_000) => until(() => (pattern.test(received) ? true : undefined), timeoutMs, `text ${pattern}`).then(() => undefined),
    ended: pump,
    close: () => abort.abort(),
  };
}
