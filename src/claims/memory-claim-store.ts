/** An in-memory ClaimStore: simulations, backtests and tests. Transactions run one at a time. */
import { ConflictError } from '../domain/errors';
import type { ClaimRecord, HistoryEntry } from './claim-record';
import type { ClaimStore, ClaimStoreTx } from './claim-store';

const clone = <T>(value: T): T => structuredClone(value);

export function createMemoryClaimStore(): ClaimStore {
  const claims = new Map<string, ClaimRecord>();
  const history = new Map<string, HistoryEntry[]>();
  let queue: Promise<unknown> = Promise.resolve();

  const run = async <T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> => {
    // Writes are staged and applied only when fn resolves: a throw leaves nothing behind.
    const staged = new Map<string, ClaimRecord>();
    const stagedHistory: HistoryEntry[] = [];
    const tx: ClaimStoreTx = {
      async getClaim(id) {
        const claim = staged.get(id) ?? claims.get(id);
        return claim && clone(claim);
      },
      async insertClaim(claim) {
        if (claims.has(claim.id) || staged.has(claim.id)) {
          throw new ConflictError('claimExists', `Claim ${claim.id} already exists.`);
        }
        staged.set(claim.id, clone(claim));
      },
      async updateClaim(claim, expectedVersion) {
        const current = staged.get(claim.id) ?? claims.get(claim.id);
        if (!current || current.version !== expectedVersion) {
          throw new ConflictError('staleVersion', `Claim ${claim.id} changed meanwhile; reload it and try again.`);
        }
        staged.set(claim.id, clone(claim));
      },
      async appendHistory(entries) {
        stagedHistory.push(...entries.map(clone));
      },
      async listHistory(claimId) {
        return [...(history.get(claimId) ?? []), ...stagedHistory.filter((e) => e.claimId === claimId)].map(clone);
      },
    };
    const result = await fn(tx);
    for (const [id, claim] of staged) claims.set(id, claim);
    for (const entry of stagedHistory) {
      const list = history.get(entry.claimId) ?? [];
      list.push(entry);
      history.set(entry.claimId, list);
    }
    return result;
  };

  return {
    transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> {
      const result = queue.then(() => run(fn));
      queue = result.catch(() => undefined);
      return result;
    },
    async claimsDue(until, limit) {
      const limitMs = Date.parse(until);
      return [...claims.values()]
        .filter((c) => c.nextDueAt !== null && Date.parse(c.nextDueAt) <= limitMs)
        .sort((a, b) => Date.parse(a.nextDueAt!) - Date.parse(b.nextDueAt!))
        .slice(0, limit)
        .map((c) => c.id);
    },
    async getClaim(id) {
      const claim = claims.get(id);
      return claim && clone(claim);
    },
    async listHistory(claimId) {
      return (history.get(claimId) ?? []).map(clone);
    },
    async listClaims() {
      return [...claims.values()].map(clone);
    },
  };
}
