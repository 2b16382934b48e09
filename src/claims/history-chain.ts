/**
 * Tamper-evident history: each entry carries the hash of the one before it, and
 * its own hash over its content. Editing, removing or reordering an entry breaks
 * the chain from that entry on.
 */
import { createHash } from 'node:crypto';
import type { HistoryEntry } from './claim-record';

/** JSON with object keys sorted, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash of an entry: SHA-256 over its canonical JSON without its own `hash`. */
export function hashEntry(entry: Omit<HistoryEntry, 'hash'> & { hash?: string }): string {
  const { hash: _own, ...content } = entry;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** Seals an entry onto a chain whose last hash is `prevHash`. */
export function sealEntry(entry: Omit<HistoryEntry, 'hash' | 'prevHash'>, prevHash: string | null): HistoryEntry {
  const linked = { ...entry, prevHash };
  return { ...linked, hash: hashEntry(linked) };
}

export type ChainVerdict =
  | { ok: true; entries: number }
  | { ok: false; entries: number; seq: number; problem: string };

/** Recomputes one claim's chain (entries in seq order); names the first entry that does not hold. */
export function verifyChain(entries: readonly HistoryEntry[]): ChainVerdict {
  let prev: string | null = null;
  for (const [index, entry] of entries.entries()) {
    if (entry.seq !== index + 1) {
      return { ok: false, entries: entries.length, seq: entry.seq, problem: `expected seq ${index + 1}, found ${entry.seq} (an entry is missing or out of order)` };
    }
    if (entry.prevHash !== prev) {
      return { ok: false, entries: entries.length, seq: entry.seq, problem: 'prevHash does not match the previous entry (an entry before it was changed or removed)' };
    }
    if (hashEntry(entry) !== entry.hash) {
      return { ok: false, entries: entries.length, seq: entry.seq, problem: 'content does not match its hash (the entry was edited)' };
    }
    prev = entry.hash;
  }
  return { ok: true, entries: entries.length };
}
