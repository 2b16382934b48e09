/** Rows of the claim tables and their mappers, shared by the write store and the read model (private to db/). */
import type { Knex } from 'knex';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { DeliveryStatus, OutboxRecord } from '../claims/claim-store';
import { productCodesOf } from '../claims/conflicts';
import { jsonText, type DecisionRecord } from '../claims/decision-digest';
import type { OutboxMessage } from '../claims/outbox-message';
import { LEAF_STATES } from '../machines/claim-transitions';
import { isInAnyState, type StateId } from '../domain/claim-types';
import { tenantKey } from '../domain/tenant-id';
import type { ClaimComment } from './claim-comments';

export type Db = Knex | Knex.Transaction;

export interface ClaimRow {
  id: string;
  version: number;
  data: string;
}

export interface HistoryRow {
  entry: string;
}

export interface OutboxRow {
  id: string;
  claim_id: string;
  type: OutboxMessage['type'];
  audience: OutboxMessage['audience'];
  at: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  delivered_at: string | null;
}

export interface DecisionRow {
  claim_id: string | null;
  author_role: string | null;
  author_id: string | null;
  at: string;
  kind: DecisionRecord['kind'];
  policy_id: string;
  policy_version: string;
  input_digest: string;
  result: string;
  rules_fired: string;
}

export interface CommentRow {
  claim_id: string;
  seq: number;
  at: string;
  event: string;
  author_role: string;
  author_id: string | null;
  text: string;
}

/** Instants are compared as text, so every one the store is given is normalised first. */
export const iso = (instant: string) => new Date(instant).toISOString();

export function claimRow(claim: ClaimRecord) {
  return { ...claimColumns(claim), data: JSON.stringify(claim) };
}

/** The claims row's columns beside `data`, derived from the record. */
export function claimColumns(claim: ClaimRecord) {
  const fields = claim.snapshot.context.fields;
  return {
    id: claim.id,
    version: claim.version,
    state: claim.state,
    status: claim.status,
    substatus: claim.substatus,
    reason: claim.reason,
    partner_id: fields.partnerId ?? null,
    // The tenant key (lower case), as every tenant comparison uses it; `data` keeps the ID as entered.
    tenant_id: fields.customer?.tenantId ? tenantKey(fields.customer.tenantId) : null,
    policy_id: claim.policy.id,
    policy_version: claim.policy.version,
    created_at: claim.createdAt,
    updated_at: claim.updatedAt,
    next_due_at: claim.nextDueAt,
  };
}

export function toClaim(row: ClaimRow): ClaimRecord {
  return { ...(JSON.parse(row.data) as ClaimRecord), version: Number(row.version) };
}

export function historyRow(entry: HistoryEntry) {
  return {
    claim_id: entry.claimId,
    seq: entry.seq,
    at: entry.at,
    actor_role: entry.actor.role,
    actor_id: entry.actor.id ?? null,
    event: entry.event,
    from_state: entry.from,
    to_state: entry.to,
    payload: JSON.stringify(entry.payload),
    entry: JSON.stringify(entry),
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

export function commentRow(comment: ClaimComment): CommentRow {
  return {
    claim_id: comment.claimId,
    seq: comment.seq,
    at: comment.at,
    event: comment.event,
    author_role: comment.author.role,
    author_id: comment.author.id,
    text: comment.text,
  };
}

export function toComment(row: CommentRow): ClaimComment {
  return {
    claimId: row.claim_id,
    seq: Number(row.seq),
    at: row.at,
    event: row.event,
    author: { role: row.author_role, id: row.author_id },
    text: row.text,
  };
}

export function decisionRow(record: DecisionRecord): DecisionRow {
  return {
    claim_id: record.claimId,
    author_role: record.author?.role ?? null,
    author_id: record.author?.id ?? null,
    at: iso(record.at),
    kind: record.kind,
    policy_id: record.policy.id,
    policy_version: record.policy.version,
    input_digest: record.inputDigest,
    result: jsonText(record.result),
    rules_fired: jsonText(record.rulesFired),
  };
}

export const DECISION_COLUMNS = ['claim_id', 'author_role', 'author_id', 'at', 'kind', 'policy_id', 'policy_version', 'input_digest', 'result', 'rules_fired'];

export function toDecision(row: DecisionRow): DecisionRecord {
  return {
    claimId: row.claim_id,
    at: row.at,
    kind: row.kind,
    ...(row.author_role !== null ? { author: { role: row.author_role, id: row.author_id } } : {}),
    policy: { id: row.policy_id, version: row.policy_version },
    inputDigest: row.input_digest,
    result: JSON.parse(row.result) as unknown,
    rulesFired: JSON.parse(row.rules_fired) as string[],
  };
}

/** The machine states `states` select (`approved` → both of its substates): what claim_products.state holds. */
export function leafStatesOf(states: readonly StateId[]): string[] {
  return LEAF_STATES.filter((leaf) => isInAnyState(leaf, states));
}

/** claim_products rows of a claim: one per product code (conflicts.ts), none without a tenant or partner. */
export function productRows(claim: ClaimRecord) {
  const fields = claim.snapshot.context.fields;
  const tenantId = fields.customer?.tenantId;
  if (!tenantId || !fields.partnerId) return [];
  return productCodesOf(fields).map((code) => ({
    claim_id: claim.id,
    tenant_id: tenantKey(tenantId),
    partner_id: fields.partnerId,
    product_code: code,
    status: claim.status,
    state: claim.state,
  }));
}


export function outboxRow(message: OutboxMessage): OutboxRow {
  return {
    id: message.id,
    claim_id: message.claimId,
    type: message.type,
    audience: message.audience,
    at: message.at,
    payload: JSON.stringify(message.payload),
    status: 'pending',
    attempts: 0,
    next_attempt_at: message.at,
    last_error: null,
    delivered_at: null,
  };
}

export function toOutbox(row: OutboxRow): OutboxRecord {
  return {
    id: row.id,
    claimId: row.claim_id,
    type: row.type,
    at: row.at,
    audience: row.audience,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
  };
}

/**
 * Locks the rows a select reads for the transaction, skipping rows another transaction holds:
 * how instances share due work on PostgreSQL. SQLite has one writer at a time (transactions
 * begin IMMEDIATE), so there is nothing to skip and the query is left as it is.
 */
export function lockSkippingHeld(db: Db, query: Knex.QueryBuilder): Knex.QueryBuilder {
  return isPostgres(db) ? query.forUpdate().skipLocked() : query;
}

export const isPostgres = (db: Db) => (db.client as { dialect?: string }).dialect === 'postgresql';

export const outboxOrder = (query: Knex.QueryBuilder) =>
  // Within a claim, ids are `<claimId>:<seq>`: ordering by length first keeps seq 10 after seq 9.
  query.orderBy([{ column: 'at' }, { column: 'claim_id' }]).orderByRaw('length(??)', ['id']).orderBy('id');

export function readHistory(db: Db, claimId: string): Promise<HistoryEntry[]> {
  return db('claim_history')
    .select('entry')
    .where({ claim_id: claimId })
    .orderBy('seq')
    .then((rows: HistoryRow[]) => rows.map((row) => JSON.parse(row.entry) as HistoryEntry));
}

