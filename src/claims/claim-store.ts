/** What the claim service needs from storage. The knex stores and the in-memory one implement it. */
import type { ClaimRecord, HistoryEntry } from './claim-record';

export interface ClaimStoreTx {
  getClaim(id: string): Promise<ClaimRecord | undefined>;
  insertClaim(claim: ClaimRecord): Promise<void>;
  /** Writes `claim` if the stored version is still `expectedVersion`; otherwise throws a ConflictError (staleVersion). */
  updateClaim(claim: ClaimRecord, expectedVersion: number): Promise<void>;
  appendHistory(entries: readonly HistoryEntry[]): Promise<void>;
  listHistory(claimId: string): Promise<HistoryEntry[]>;
}

export interface ClaimStore {
  /** Runs `fn` in one transaction: all its writes land, or none do. */
  transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T>;
  /** Ids of claims with a running deadline due at or before `until`, earliest first. */
  claimsDue(until: string, limit: number): Promise<string[]>;
  getClaim(id: string): Promise<ClaimRecord | undefined>;
  listHistory(claimId: string): Promise<HistoryEntry[]>;
  /** Every claim, in creation order (simulation, backtests). */
  listClaims(): Promise<ClaimRecord[]>;
}
