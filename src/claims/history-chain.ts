/**
 * Tamper-evident history: each entry carries the hash of the one before it, and
 * its own hash over its content. Editing, removing or reordering an entry breaks
 * the chain from that entry on.
 *
 * An entry's hash is SHA-256 (hex) over the UTF-8 of its RFC 8785 (JCS) canonical JSON,
 * without its own `hash`: anyone can check a chain with any JCS library. Chains sealed
 * before the service used a JCS library hashed a home-made canonical form that equals JCS
 * on every JSON value (keys sorted by UTF-16 code units, ECMAScript number and string
 * serialization), so they verify unchanged and entries carry no hash scheme;
 * test/unit/history-chain-jcs.test.ts shows it on a fixture of such chains.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { HistoryEntry } from './claim-record';

/**
 * RFC 8785 (JCS) canonical JSON: the same content always gives the same text. Object
 * members whose value is undefined are left out (as JSON.stringify does); NaN and
 * Infinity, which JSON cannot hold, are refused.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('This value has no JSON form.');
  return text;
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
