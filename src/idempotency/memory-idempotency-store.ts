/** In-memory idempotency keys (tests, single-process use). */
import { randomUUID } from 'node:crypto';
import { DEFAULT_LEASE_SECONDS, secondsLeft, type IdempotencyBegin, type IdempotencyStore, type StoredResponse } from './idempotency-store';

interface Entry {
  requestHash: string;
  createdAt: string;
  token: string;
  leaseUntil: string;
  response?: StoredResponse;
}

export function createMemoryIdempotencyStore(options: { leaseSeconds?: number } = {}): IdempotencyStore {
  const leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  const keys = new Map<string, Entry>();
  const id = (scope: string, key: string) => JSON.stringify([scope, key]);
  const lease = (now: string) => ({ token: randomUUID(), leaseUntil: new Date(Date.parse(now) + leaseMs).toISOString() });
  return {
    async begin(scope, key, requestHash, now): Promise<IdempotencyBegin> {
      const at = new Date(now).toISOString();
      const existing = keys.get(id(scope, key));
      if (!existing) {
        const entry = { requestHash, createdAt: at, ...lease(at) };
        keys.set(id(scope, key), entry);
        return { state: 'new', token: entry.token };
      }
      if (existing.requestHash !== requestHash) return { state: 'mismatch' };
      if (existing.response) return { state: 'done', response: existing.response };
      if (existing.leaseUntil > at) return { state: 'inFlight', retryAfterSec: secondsLeft(existing.leaseUntil, at) };
      Object.assign(existing, lease(at));
      return { state: 'new', token: existing.token };
    },
    async complete({ scope, key, token, response }) {
      const existing = keys.get(id(scope, key));
      if (existing && existing.token === token && !existing.response) existing.response = response;
    },
    async abandon(scope, key, token) {
      const existing = keys.get(id(scope, key));
      if (existing && existing.token === token && !existing.response) keys.delete(id(scope, key));
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
