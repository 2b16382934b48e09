/** What the claim service needs from storage. The knex stores and the in-memory one implement it. */
import type { StateId, Status } from '../domain/claim-types';
import type { KeptReply } from '../idempotency/idempotency-store';
import type { ClaimRecord, HistoryEntry } from './claim-record';
import type { DecisionKind, DecisionRecord } from './decision-digest';
import type { OutboxMessage } from './outbox-message';

export interface ClaimStoreTx {
  getClaim(id: string): Promise<ClaimRecord | undefined>;
  insertClaim(claim: ClaimRecord): Promise<void>;
  /** Writes `claim` if the stored version is still `expectedVersion`; otherwise throws a ConflictError (versionConflict). */
  updateClaim(claim: ClaimRecord, expectedVersion: number): Promise<void>;
  appendHistory(entries: readonly HistoryEntry[]): Promise<void>;
  listHistory(claimId: string): Promise<HistoryEntry[]>;
  appendOutbox(messages: readonly OutboxMessage[]): Promise<void>;
  /** Decision-log records of this change (transitions, refusals), written with it. */
  appendDecisions(records: readonly DecisionRecord[]): Promise<void>;
  /**
   * Stores the answer to the request's Idempotency-Key with the change (throws if its lease
   * was lost). Stores without it (memory) keep answers after the commit instead.
   */
  keepReply?(reply: KeptReply): Promise<void>;
  /**
   * Takes the claim whose deadline falls due first (at or before `until`; then by creation)
   * that no other transaction holds, and holds it until this one ends; `skip` names claims not
   * to take. Another instance's scheduler takes the next one instead of waiting (PostgreSQL:
   * `FOR UPDATE SKIP LOCKED`); undefined when none is left.
   */
  takeDueClaim(until: string, skip: ReadonlySet<string>): Promise<ClaimRecord | undefined>;
}

/** Keyset position: claims are listed by (createdAt, id). */
export interface ClaimCursor {
  createdAt: string;
  id: string;
}

export interface ClaimFilter {
  status?: Status;
  /** Claims flagged overdue on this deadline name. */
  overdue?: string;
  tenantId?: string;
  partnerId?: string;
  /**
   * Search text: claims whose customer name or domain, claim name, tenant ID, partner ID or
   * claim ID contains it, without regard to case.
   */
  q?: string;
  /**
   * Only claims that are (true) or are not (false) in a conflict with another
   * partner's claim, both in `activeStatuses` (the policy's `conflicts`; see conflicts.ts).
   */
  conflict?: { conflicted: boolean; activeStatuses: readonly StateId[] };
  after?: ClaimCursor;
  limit: number;
}

/** Which part of a claim's decision log to read: keyset paging in the order written. */
export interface DecisionQuery {
  kind?: DecisionKind;
  /** Only records after this position (`seq` of the last record of the previous page). */
  after?: number;
  limit: number;
}

/** A decision-log record with its position in the log (increasing in the order written). */
export interface StoredDecision {
  seq: number;
  record: DecisionRecord;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface OutboxRecord extends OutboxMessage {
  status: DeliveryStatus;
  attempts: number;
  /** When the next delivery attempt is due (pending). */
  nextAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface ClaimStore {
  /** Runs `fn` in one transaction: all its writes land, or none do. */
  transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T>;
  getClaim(id: string): Promise<ClaimRecord | undefined>;
  listHistory(claimId: string): Promise<HistoryEntry[]>;
  /** Claims matching the filter, by (createdAt, id). */
  listClaims(filter: ClaimFilter): Promise<ClaimRecord[]>;
  /**
   * Other partners' claims in `activeStatuses` on the same customer tenant that share
   * a product code with `claim` (conflicts.ts `overlapOf`), by (createdAt, id).
   */
  findOverlaps(claim: ClaimRecord, activeStatuses: readonly StateId[]): Promise<ClaimRecord[]>;
  /** Ids of every claim, by (createdAt, id) (audits, backtests). */
  allClaimIds(): Promise<string[]>;
  /** How many claims follow each policy version (GET /v1/policies). */
  countClaimsByPolicy(): Promise<Array<{ id: string; version: string; claims: number }>>;
  /** Outbox messages due for a delivery attempt at `now`, oldest first. */
  pendingOutbox(now: string, limit: number): Promise<OutboxRecord[]>;
  /**
   * Takes up to `limit` messages due at `now` for delivery, oldest first, and leases them
   * until `leaseUntil`: until then no other caller (instance) takes them, nor any message of
   * their claims, so a claim's messages go out one at a time. A lease lapses when its holder
   * dies; its messages are then taken again.
   */
  leaseOutbox(now: string, leaseUntil: string, limit: number): Promise<OutboxRecord[]>;
  /** Gives back leased messages not attempted (the lease `leaseUntil` is still theirs): they are due again at once. */
  releaseOutbox(ids: readonly string[], leaseUntil: string): Promise<void>;
  /** Records the outcome of a delivery attempt, which ends the message's lease. */
  updateOutbox(
    id: string,
    update: Pick<OutboxRecord, 'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'deliveredAt'>,
  ): Promise<void>;
  listOutbox(filter: { claimId?: string; status?: DeliveryStatus; limit: number }): Promise<OutboxRecord[]>;
  /** Records a decision outside any claim change (a stateless evaluation). */
  recordDecision(record: DecisionRecord): Promise<void>;
  /**
   * Records shadow decisions (kind `shadow`, claims/shadow.ts), each once: a record whose
   * `inputDigest` a shadow record already has is left out (a replay, a retry).
   */
  recordShadowDecisions(records: readonly DecisionRecord[]): Promise<void>;
  /** Deletes evaluation records filed before `before` (retention); transitions' records are kept. Answers how many went. */
  pruneEvaluationDecisions(before: string): Promise<number>;
  /** A claim's decision-log records, oldest first (the first `limit`). */
  listDecisions(claimId: string, limit: number): Promise<DecisionRecord[]>;
  /** A page of a claim's decision log, oldest first, optionally of one kind, after a position. */
  pageDecisions(claimId: string, query: DecisionQuery): Promise<StoredDecision[]>;
  /** A page of the whole decision log (every claim's, and evaluations of none), oldest first, optionally of one kind. */
  pageAllDecisions(query: DecisionQuery): Promise<StoredDecision[]>;
  close?(): Promise<void>;
}
