/**
 * Where a streaming backtest reads claims: in keyset batches by (createdAt, id), each
 * claim with its history. A batch item is parsed objects, or (from a database) the stored
 * JSON text, which the worker thread parses, so the reading thread only copies strings.
 */
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { ClaimCursor, ClaimStore } from '../claims/claim-store';
import { firstCreatedAtOrAfter } from './backtest';
import type { StoredClaim } from './stream-backtest';

export type ClaimBatchItem = StoredClaim | { claimJson: string; historyJson: string[] };

export interface ClaimBatchSource {
  /** How many claims the batches will hold (for progress). */
  count(): Promise<number>;
  /** The next claims in (createdAt, id) order, at most `limit`; empty at the end. */
  next(limit: number): Promise<ClaimBatchItem[]>;
}

export function storedClaimOf(item: ClaimBatchItem): StoredClaim {
  if ('record' in item) return item;
  return { record: JSON.parse(item.claimJson) as ClaimRecord, history: item.historyJson.map((text) => JSON.parse(text) as HistoryEntry) };
}

/** Batches from any claim store (its keyset list and per-claim history): the in-memory store, or a service's store. */
export function storeClaimSource(
  store: Pick<ClaimStore, 'allClaimIds' | 'getClaim' | 'listClaims' | 'listHistory'>,
  since?: Date,
): ClaimBatchSource {
  // (createdAt, id) > (since, ''): every claim created at or after `since`.
  let after: ClaimCursor | undefined = since ? { createdAt: since.toISOString(), id: '' } : undefined;
  return {
    async count() {
      const ids = await store.allClaimIds();
      return since ? ids.length - (await firstCreatedAtOrAfter(store, ids, since)) : ids.length;
    },
    async next(limit) {
      const records = await store.listClaims({ limit, ...(after ? { after } : {}) });
      const last = records.at(-1);
      if (last) after = { createdAt: last.createdAt, id: last.id };
      return Promise.all(records.map(async (record) => ({ record, history: await store.listHistory(record.id) })));
    },
  };
}
