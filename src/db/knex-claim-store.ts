/**
 * The ClaimStore on knex (SQLite or PostgreSQL, the same SQL on both). A claim is
 * one row holding the full record as JSON, plus columns and projection tables
 * (deadlines, overdue flags, PoE documents, disputes, comments, product codes) for
 * queries; the projections are rewritten in the same transaction as the claim. The
 * decision log is append-only, written with the change it records. The queries behind
 * the API's lists are the read model beside it (knex-claim-read-model.ts).
 */
import type { Knex } from 'knex';
import { searchTextOf } from '../claims/claim-search';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { ClaimStore, ClaimStoreTx } from '../claims/claim-store';
import { ConflictError } from '../domain/errors';
import { commentsOf } from './claim-comments';
import { keepReplyIn } from './knex-idempotency-store';
import {
  claimRow,
  commentRow,
  decisionRow,
  historyRow,
  iso,
  isPostgres,
  lockSkippingHeld,
  outboxOrder,
  outboxRow,
  productRows,
  readHistory,
  toClaim,
  toOutbox,
  type ClaimRow,
  type Db,
  type OutboxRow,
} from './claim-rows';
import { createKnexClaimReadModel, type ClaimReadModel } from './knex-claim-read-model';

/** Facts of a stored PoE file (content-addressed). */
export interface PoeFileFacts {
  sha256: string;
  size: number;
  contentType: string;
}

export interface KnexClaimStore extends ClaimStore, ClaimReadModel {
  readHistoryForAudit(claimId: string): Promise<Array<{ entry: HistoryEntry; columnMismatch: string | null }>>;
  /** Records a stored PoE file's facts (once per content address). */
  recordPoeFile(file: PoeFileFacts, at: string): Promise<void>;
}

/** Key of the PostgreSQL advisory lock that serialises taking outbox leases. */
const OUTBOX_LEASE_LOCK = 0x6370_6f72;

const staleVersion = (id: string) =>
  new ConflictError('versionConflict', `Claim ${id} changed meanwhile; reload it and try again.`);

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
    claim_search: [{ claim_id: claim.id, search_text: searchTextOf(claim) }],
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
  const tx = (trx: Knex.Transaction): ClaimStoreTx => ({
    keepReply: (reply) => keepReplyIn(trx, reply),
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
    async takeDueClaim(until, skip) {
      const query = trx('claims')
        .select('id', 'version', 'data')
        .whereNotNull('next_due_at')
        .where('next_due_at', '<=', iso(until))
        .orderBy([{ column: 'next_due_at' }, { column: 'created_at' }, { column: 'id' }])
        .limit(1);
      if (skip.size > 0) query.whereNotIn('id', [...skip]);
      const [row]: ClaimRow[] = await lockSkippingHeld(trx, query);
      return row && toClaim(row);
    },
  });

  return {
    ...createKnexClaimReadModel(knex),

    transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> {
      return knex.transaction((trx) => fn(tx(trx)));
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

    leaseOutbox(now, leaseUntil, limit) {
      return knex.transaction(async (trx) => {
        // Leases are taken one instance at a time (SQLite: its single writer), so each sees the
        // leases committed before it and a claim's messages never go to two instances at once.
        if (isPostgres(trx)) await trx.raw('select pg_advisory_xact_lock(?)', [OUTBOX_LEASE_LOCK]);
        const at = iso(now);
        // A claim with a message leased to anyone is skipped whole: its messages go one at a time.
        const held = (sub: Knex.QueryBuilder) =>
          sub
            .select(trx.raw('1'))
            .from('outbox as held')
            .where('held.claim_id', trx.ref('outbox.claim_id'))
            .where('held.status', 'pending')
            .where('held.leased_until', '>', at);
        const due = outboxOrder(trx('outbox').select('*').where('status', 'pending').where('next_attempt_at', '<=', at).whereNotExists(held)).limit(limit);
        const rows: OutboxRow[] = await due;
        for (let i = 0; i < rows.length; i += 100) {
          await trx('outbox').whereIn('id', rows.slice(i, i + 100).map((row) => row.id)).update({ leased_until: iso(leaseUntil) });
        }
        return rows.map(toOutbox);
      });
    },

    async releaseOutbox(ids, leaseUntil) {
      for (let i = 0; i < ids.length; i += 100) {
        await knex('outbox').whereIn('id', ids.slice(i, i + 100)).where('leased_until', iso(leaseUntil)).update({ leased_until: null });
      }
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
          leased_until: null,
        });
    },

    async recordDecision(record) {
      await knex('decisions').insert(decisionRow(record));
    },

    async pruneEvaluationDecisions(before) {
      return knex('decisions').where('kind', 'evaluation').andWhere('at', '<', iso(before)).delete();
    },

    async recordPoeFile(file, at) {
      await knex('poe_files')
        .insert({ sha256: file.sha256, size: file.size, content_type: file.contentType, created_at: iso(at) })
        .onConflict('sha256')
        .ignore();
    },
  };
}
