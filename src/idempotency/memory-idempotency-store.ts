/** In-memory idempotency keys (tests, single-process use). */
import type { IdempotencyBegin, IdempotencyStore, StoredResponse } from './idempotency-store';

export function createMemoryIdempotencyStore(): IdempotencyStore {
  const keys = new Map<string, { requestHash: string; createdAt: string; response?: StoredResponse }>();
  const id = (scope: string, key: string) => JSON.stringify([scope, key]);
  return {
    async begin(scope, key, requestHash, now): Promise<IdempotencyBegin> {
      const existing = keys.get(id(scope, key));
      if (!existing) {
        keys.set(id(scope, key), { requestHash, createdAt: new Date(now).toISOString() });
        return { state: 'new' };
      }
      if (existing.requestHash !== requestHash) return { state: 'mismatch' };
      return existing.response ? { state: 'done', response: existing.response } : { state: 'inFlight' };
    },
    async complete(scope, key, response) {
      const existing = keys.get(id(scope, key));
      if (existing) existing.response = response;
    },
    async abandon(scope, key) {
      keys.delete(id(scope, key));
    },
    async purge(before) {
      const limit = new Date(before).toISOString();
      let purged = 0;
      for (const [k, entry] of keys) {
        if (entry.createdAt < limit) {
          keys.delete(k);
          purged += 1;
        }
      }
      return purged;
    },
  };
}
