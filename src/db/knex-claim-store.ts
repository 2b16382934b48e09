/**
 * The ClaimStore on knex (SQLite or PostgreSQL, the same SQL on both). A claim is
 * one row holding the full record as JSON, plus columns and projection tables
 * (deadlines, overdue flags, PoE documents, disputes, comments, product codes) for
 * queries; the projections are rewritten in the same transaction as the claim. The
 * decision log is append-only, written with the change it records.
 */
import type { Knex } from 'knex';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { ClaimFilter, ClaimStore, ClaimStoreTx, DeliveryStatus, OutboxRecord } from '../claims/claim-store';
import { productCodesOf } from '../claims/conflicts';
import type { DecisionRecord } from '../claims/decision-digest';
import type { OutboxMessage } from '../claims/outbox-message';
import { LEAF_STATES } from '../machines/claim-transitions';
import { isInAnyState, type StateId } from '../domain/claim-types';
import { ConflictError } from '../domain/errors';
import { tenantKey } from '../domain/tenant-id';
import { commentsOf, type ClaimComment } from './claim-comments';

/** Facts of a stored PoE file (content-addressed). */
export interface PoeFileFacts {
  sha256: string;
  size: number;
  contentType: string;
}

export interface KnexClaimStore extends ClaimStore {
  readHistoryForAudit(claimId: string): Promise<Array<{ entry: HistoryEntry; columnMismatch: string | null }>>;
  /** The claim's comments, oldest first. */
  listComments(claimId: string): Promise<ClaimComment[]>;
  /** Records a stored PoE file's facts (once per content address). */
  recordPoeFile(file: PoeFileFacts, at: string): Promise<void>;
}

type Db = Knex | Knex.Transaction;

interface ClaimRow {
  id: string;
  version: number;
  data: string;
}

interface HistoryRow {
  entry: string;
}

interface OutboxRow {
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

interface DecisionRow {
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

interface CommentRow {
  claim_id: string;
  seq: number;
  at: string;
  event: string;
  author_role: string;
  author_id: string | null;
  text: string;
}

/** Instants are compared as text, so every one the store is given is normalised first. */
const iso = (instant: string) => new Date(instant).toISOString();

const staleVersion = (id: string) =>
  new ConflictError('staleVersion', `Claim ${id} changed meanwhile; reload it and try again.`);

function claimRow(claim: ClaimRecord) {
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
    data: JSON.stringify(claim),
  };
}

function toClaim(row: ClaimRow): ClaimRecord {
  return { ...(JSON.parse(row.data) as ClaimRecord), version: Number(row.version) };
}

function historyRow(entry: HistoryEntry) {
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

function commentRow(comment: ClaimComment): CommentRow {
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

function toComment(row: CommentRow): ClaimComment {
  return {
    claimId: row.claim_id,
    seq: Number(row.seq),
    at: row.at,
    event: row.event,
    author: { role: row.author_role, id: row.author_id },
    text: row.text,
  };
}

function decisionRow(record: DecisionRecord): DecisionRow {
  return {
    claim_id: record.claimId,
    author_role: record.author?.role ?? null,
    author_id: record.author?.id ?? null,
    at: iso(record.at),
    kind: record.kind,
    policy_id: record.policy.id,
    policy_version: record.policy.version,
    input_digest: record.inputDigest,
    result: JSON.stringify(record.result ?? null),
    rules_fired: JSON.stringify(record.rulesFired),
  };
}

const DECISION_COLUMNS = ['claim_id', 'author_role', 'author_id', 'at', 'kind', 'policy_id', 'policy_version', 'input_digest', 'result', 'rules_fired'];

function toDecision(row: DecisionRow): DecisionRecord {
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
function leafStatesOf(states: readonly StateId[]): string[] {
  return LEAF_STATES.filter((leaf) => isInAnyState(leaf, states));
}

/** claim_products rows of a claim: one per product code (conflicts.ts), none without a tenant or partner. */
function productRows(claim: ClaimRecord) {
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

/**
 * Whether the claim of the outer query (`claims.id`) is in a conflict: one of its
 * product rows in an active state meets another partner's row for the same tenant and
 * product code, also in an active state. One probe of claim_products by claim id, then
 * of its (tenant_id, product_code, state) index per product code.
 */
function conflictExists(knex: Knex, leaves: readonly string[]) {
  return (sub: Knex.QueryBuilder) =>
    sub
      .select(knex.raw('1'))
      .from('claim_products as mine')
      .join('claim_products as theirs', (on) =>
        on.on('theirs.tenant_id', 'mine.tenant_id').andOn('theirs.product_code', 'mine.product_code').andOn('theirs.partner_id', '<>', 'mine.partner_id'),
      )
      .where('mine.claim_id', knex.ref('claims.id'))
      .whereIn('mine.state', leaves)
      .whereIn('theirs.state', leaves);
}

function outboxRow(message: OutboxMessage): OutboxRow {
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

function toOutbox(row: OutboxRow): OutboxRecord {
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

/** Rows of the query tables derived from a claim record. */
function projectionRows(claim: ClaimRecord) {
  const { poe, disputes } = claim.snapshot.context;
  return {
    claim_deadlines: claim.deadlines.map((d) => ({
      claim_id: claim.id,
      id: d.id,
      name: d.name,
      status: d.status,
      started_at: d.startedAt,
      due: d.due,
      due_at: d.dueAt,
      ended_at: d.endedAt ?? null,
      lapsed: d.lapsed,
    })),
    claim_overdue: [...new Set(claim.overdue)].map((name) => ({ claim_id: claim.id, name })),
    poe_documents: poe.map((doc) => ({
      claim_id: claim.id,
      id: doc.id,
      file_name: doc.fileName,
      customer_signed: doc.customerSigned,
      signed_on: doc.signedOn ?? null,
      sha256: doc.sha256 ?? null,
      size: doc.size ?? null,
      content_type: doc.contentType ?? null,
      uploaded_at: doc.uploadedAt,
      uploaded_by: doc.uploadedBy,
    })),
    disputes: disputes.map((dispute, idx) => ({
      claim_id: claim.id,
      idx,
      program: dispute.program,
      details: dispute.details,
      raised_at: dispute.raisedAt,
      raised_by: dispute.raisedBy,
      outcome: dispute.resolution?.outcome ?? null,
      resolved_at: dispute.resolution?.at ?? null,
    })),
    claim_products: productRows(claim),
  };
}

/** Inserts rows in chunks (SQLite compiles a multi-row insert to a compound SELECT of at most 500 terms). */
async function insertAll(trx: Knex.Transaction, table: string, rows: readonly object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 100) await trx(table).insert(rows.slice(i, i + 100));
}

async function writeProjections(trx: Knex.Transaction, claim: ClaimRecord, replace: boolean): Promise<void> {
  for (const [table, rows] of Object.entries(projectionRows(claim))) {
    if (replace) await trx(table).where({ claim_id: claim.id }).delete();
    await insertAll(trx, table, rows);
  }
}

const outboxOrder = (query: Knex.QueryBuilder) =>
  // Within a claim, ids are `<claimId>:<seq>`: ordering by length first keeps seq 10 after seq 9.
  query.orderBy([{ column: 'at' }, { column: 'claim_id' }]).orderByRaw('length(??)', ['id']).orderBy('id');

function readHistory(db: Db, claimId: string): Promise<HistoryEntry[]> {
  return db('claim_history')
    .select('entry')
    .where({ claim_id: claimId })
    .orderBy('seq')
    .then((rows: HistoryRow[]) => rows.map((row) => JSON.parse(row.entry) as HistoryEntry));
}

/**
 * A claim's history as stored, with the first stored column that disagrees with the
 * entry JSON per row (someone edited a column by hand): what `cpor audit verify` reads.
 */
async function readHistoryForAudit(db: Db, claimId: string): Promise<Array<{ entry: HistoryEntry; columnMismatch: string | null }>> {
  const rows: Array<Record<string, unknown>> = await db('claim_history').select('*').where({ claim_id: claimId }).orderBy('seq');
  return rows.map((row) => {
    const entry = JSON.parse(String(row.entry)) as HistoryEntry;
    const expected = historyRow(entry) as Record<string, unknown>;
    const mismatch = Object.keys(expected).find((column) => column !== 'entry' && String(row[column] ?? '') !== String(expected[column] ?? ''));
    return { entry, columnMismatch: mismatch ?? null };
  });
}

export function createKnexClaimStore(knex: Knex): KnexClaimStore {
  const pageDecisions: ClaimStore['pageDecisions'] = async (claimId, { kind, after, limit }) => {
    // Insertion order (the id) is the log's order; (claim_id, kind, id) and (claim_id, id) serve both filters.
    const query = knex('decisions').select('id', ...DECISION_COLUMNS).where({ claim_id: claimId });
    if (kind !== undefined) query.where('kind', kind);
    if (after !== undefined) query.where('id', '>', after);
    const rows: Array<DecisionRow & { id: number | string }> = await query.orderBy('id').limit(limit);
    return rows.map((row) => ({ seq: Number(row.id), record: toDecision(row) }));
  };

  const tx = (trx: Knex.Transaction): ClaimStoreTx => ({
    async getClaim(id) {
      // FOR UPDATE serialises writers of one claim on PostgreSQL (the version check is the
      // guarantee; the lock saves the loser's work). SQLite compiles it away: its
      // transactions begin IMMEDIATE and so already hold the write lock.
      const row: ClaimRow | undefined = await trx('claims').select('id', 'version', 'data').where({ id }).forUpdate().first();
      return row && toClaim(row);
    },
    async insertClaim(claim) {
      const inserted: unknown[] = await trx('claims').insert(claimRow(claim)).onConflict('id').ignore().returning('id');
      if (inserted.length === 0) throw new ConflictError('claimExists', `Claim ${claim.id} already exists.`);
      await writeProjections(trx, claim, false);
    },
    async updateClaim(claim, expectedVersion) {
      const changed = await trx('claims').where({ id: claim.id, version: expectedVersion }).update(claimRow(claim));
      if (changed === 0) throw staleVersion(claim.id);
      await writeProjections(trx, claim, true);
    },
    async appendHistory(entries) {
      await insertAll(trx, 'claim_history', entries.map(historyRow));
      await insertAll(trx, 'comments', commentsOf(entries).map(commentRow));
    },
    listHistory(claimId) {
      return readHistory(trx, claimId);
    },
    async appendOutbox(messages) {
      for (let i = 0; i < messages.length; i += 100) {
        await trx('outbox').insert(messages.slice(i, i + 100).map(outboxRow)).onConflict('id').ignore();
      }
    },
    async appendDecisions(records) {
      await insertAll(trx, 'decisions', records.map(decisionRow));
    },
  });

  return {
    transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> {
      return knex.transaction((trx) => fn(tx(trx)));
    },

    async claimsDue(until, limit) {
      const rows: Array<{ id: string }> = await knex('claims')
        .select('id')
        .whereNotNull('next_due_at')
        .where('next_due_at', '<=', iso(until))
        .orderBy([{ column: 'next_due_at' }, { column: 'created_at' }, { column: 'id' }])
        .limit(limit);
      return rows.map((row) => row.id);
    },

    async getClaim(id) {
      const row: ClaimRow | undefined = await knex('claims').select('id', 'version', 'data').where({ id }).first();
      return row && toClaim(row);
    },

    listHistory(claimId) {
      return readHistory(knex, claimId);
    },

    readHistoryForAudit(claimId) {
      return readHistoryForAudit(knex, claimId);
    },

    async listClaims(filter: ClaimFilter) {
      const query = knex('claims').select('id', 'version', 'data');
      if (filter.status) query.where('status', filter.status);
      if (filter.tenantId) query.where('tenant_id', tenantKey(filter.tenantId));
      if (filter.partnerId) query.where('partner_id', filter.partnerId);
      if (filter.overdue) {
        const name = filter.overdue;
        query.whereExists((sub) =>
          sub.select('claim_id').from('claim_overdue').where('claim_overdue.claim_id', knex.ref('claims.id')).where('claim_overdue.name', name),
        );
      }
      if (filter.conflict) {
        const exists = conflictExists(knex, leafStatesOf(filter.conflict.activeStatuses));
        if (filter.conflict.conflicted) query.whereExists(exists);
        else query.whereNotExists(exists);
      }
      if (filter.after) {
        const { createdAt, id } = filter.after;
        query.where((keyset) =>
          keyset.where('created_at', '>', createdAt).orWhere((same) => same.where('created_at', createdAt).where('id', '>', id)),
        );
      }
      const rows: ClaimRow[] = await query.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(filter.limit);
      return rows.map(toClaim);
    },

    async findOverlaps(claim, activeStatuses) {
      const [row] = productRows(claim);
      const codes = productCodesOf(claim.snapshot.context.fields);
      const leaves = leafStatesOf(activeStatuses);
      if (!row || codes.length === 0 || leaves.length === 0) return [];
      const rows: ClaimRow[] = await knex('claims')
        .select('id', 'version', 'data')
        .whereIn(
          'id',
          knex('claim_products')
            .distinct('claim_id')
            .where('tenant_id', row.tenant_id)
            .whereIn('product_code', codes)
            .whereIn('state', leaves)
            .whereNot('partner_id', row.partner_id)
            .whereNot('claim_id', claim.id),
        )
        .orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map(toClaim);
    },

    async allClaimIds() {
      const rows: Array<{ id: string }> = await knex('claims').select('id').orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map((row) => row.id);
    },

    async pendingOutbox(now, limit) {
      const rows: OutboxRow[] = await outboxOrder(
        knex('outbox').select('*').where('status', 'pending').where('next_attempt_at', '<=', iso(now)),
      ).limit(limit);
      return rows.map(toOutbox);
    },

    async updateOutbox(id, update) {
      await knex('outbox')
        .where({ id })
        .update({
          status: update.status,
          attempts: update.attempts,
          next_attempt_at: update.nextAttemptAt === null ? null : iso(update.nextAttemptAt),
          last_error: update.lastError,
          delivered_at: update.deliveredAt,
        });
    },

    async listOutbox(filter) {
      const query = knex('outbox').select('*');
      if (filter.claimId) query.where('claim_id', filter.claimId);
      if (filter.status) query.where('status', filter.status);
      const rows: OutboxRow[] = await outboxOrder(query).limit(filter.limit);
      return rows.map(toOutbox);
    },

    async recordDecision(record) {
      await knex('decisions').insert(decisionRow(record));
    },

    async listDecisions(claimId, limit) {
      return (await pageDecisions(claimId, { limit })).map((d) => d.record);
    },

    pageDecisions,

    async listComments(claimId) {
      const rows: CommentRow[] = await knex('comments').select('*').where({ claim_id: claimId }).orderBy('seq');
      return rows.map(toComment);
    },

    async recordPoeFile(file, at) {
      await knex('poe_files')
        .insert({ sha256: file.sha256, size: file.size, content_type: file.contentType, created_at: iso(at) })
        .onConflict('sha256')
        .ignore();
    },
  };
}
