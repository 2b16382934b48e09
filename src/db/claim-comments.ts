/** Comments as the API lists them: read off a claim's history entries. */
import type { HistoryEntry } from '../claims/claim-record';

export interface ClaimComment {
  claimId: string;
  /** Sequence number of the history entry that carries the comment. */
  seq: number;
  at: string;
  /** `comment`, or the event the comment came with (`requestInfo`, `reject`, `resolveDispute`, …). */
  event: string;
  author: { role: string; id: string | null };
  text: string;
}

/** The comment an entry carries: a `comment` event's text, or any event's `comment` field. */
export function commentOf(entry: HistoryEntry): ClaimComment | undefined {
  const text = entry.event === 'comment' ? entry.payload.text : entry.payload.comment;
  if (typeof text !== 'string' || text === '') return undefined;
  return {
    claimId: entry.claimId,
    seq: entry.seq,
    at: entry.at,
    event: entry.event,
    author: { role: entry.actor.role, id: entry.actor.id ?? null },
    text,
  };
}

/** The comments of a history, oldest first. */
export function commentsOf(entries: readonly HistoryEntry[]): ClaimComment[] {
  return entries.flatMap((entry) => commentOf(entry) ?? []);
}
