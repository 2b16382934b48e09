/**
 * The ClaimStore on knex (SQLite or PostgreSQL, the same SQL on both). A claim is
 * one row holding the full record as JSON, plus columns and projection tables
 * (deadlines, overdue flags, PoE documents, disputes, comments, product codes) for
 * queries; the projections are rewritten in the same transaction as the claim. The
 * decision log is append-only, written with the change it records. The queries behind
 * the API's lists are the read model beside it (knex-claim-read-model.ts).
 */
import type { Knex } from 'knex';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { ClaimStore, ClaimStoreTx } from '../claims/claim-store';
import { ConflictError } from '../domain/errors';
import { commentsOf } from './claim-comments';
import { keepReplyIn } from './knex-idempotency-store';
import {
  claimColumns,
  claimRow,
  commentRow,
  decisionRow,
  historyRow,
  iso,
  isPostgres,
  lockSkippingHeld,
  outboxOrder,
  outboxRow,
  readHistory,
  toClaim,
  type HistoryRow,
  toOutbox,
  type ClaimRow,
  type Db,
  type OutboxRow,
} from './claim-rows';
import { PROJECTION_KEYS, projectionChanges, projectionRows, type ProjectionTable, type Projections } from './claim-projections';
import { refreshConflictMarkers } from './conflict-marker';
import { createKnexClaimReadModel, type ClaimReadModel } from './knex-claim-read-model';
import { immediateTransaction } from './immediate-sqlite-client';
import { postgresSql, type SqlRow, type StoreSql } from './store-sql';

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
  /** Whether a claim's PoE document (ever) named the file at this address (its facts were recorded). */
  hasPoeFile(sha256: string): Promise<boolean>;
}

/** Key of the PostgreSQL advisory lock that serialises taking outbox leases. */
const OUTBOX_LEASE_LOCK = 0x6370_6f72;

const staleVersion = (id: string) =>
  new ConflictError('versionConflict', `Claim ${id} changed meanwhile; reload it and try again.`);

/**
 * Brings the projections of a claim from `old` (null: none stored) to those of
 * `after`, row by row, and the conflict marker with its product rows; answers the new projections.
 */
async function writeProjections(sql: StoreSql, old: Projections | null, after: ClaimRecord): Promise<Projections> {
  const next = projectionRows(after);
  const changes = old
    ? projectionChanges(old, next)
    : Object.entries(next).map(([table, rows]) => ({ table: table as ProjectionTable, deleted: [], inserted: rows, changed: [] }));
  for (const { table, deleted, inserted, changed } of changes) {
    const keys = PROJECTION_KEYS[table];
    const where = `claim_id = ? and ${keys.map((key) => `${key} = ?`).join(' and ')}`;
    const keyOf = (row: SqlRow) => [after.id, ...keys.map((key) => row[key] ?? null)];
    for (const row of deleted) await sql.run(`delete from ${table} where ${where}`, keyOf(row));
    // A row whose key stays is updated in place, only its columns that differ.
    for (const { before, after: row } of changed) {
      const columns = Object.keys(row).filter((column) => row[column] !== before[column]);
      await sql.run(`update ${table} set ${columns.map((column) => `${column} = ?`).join(', ')} where ${where}`, [
        ...columns.map((column) => row[column] ?? null),
        ...keyOf(row),
      ]);
    }
    await sql.insert(table, inserted);
    const was = [...deleted, ...changed.map((change) => change.before)];
    const now = [...inserted, ...changed.map((change) => change.after)];
    if (table === 'claim_products') await refreshConflictMarkers(sql, after.id, was, now);
    if (table === 'poe_documents') await recordPoeFiles(sql, now);
  }
  return next;
}

/**
 * Records the facts of the stored files that new PoE documents name (once per content
 * address), in the transaction that adds them: an upload is one transaction.
 */
async function recordPoeFiles(sql: StoreSql, documents: readonly SqlRow[]): Promise<void> {
  for (const { sha256, size, content_type: contentType, uploaded_at: at } of documents) {
    if (sha256 == null || size == null || contentType == null) continue;
    await sql.run('insert into poe_files (sha256, size, content_type, created_at) values (?, ?, ?, ?) on conflict (sha256) do nothing', [
      sha256,
      size,
      contentType,
      iso(String(at)),
    ]);
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

/** What a transaction knows of a claim row it read or wrote: its version, columns and projections. */
interface Stored {
  version: number;
  columns: ReturnType<typeof claimColumns>;
  projections: Projections;
}

const storedOf = (claim: ClaimRecord): Stored => ({ version: claim.version, columns: claimColumns(claim), projections: projectionRows(claim) });

export function createKnexClaimStore(knex: Knex): KnexClaimStore {
  /** A transaction's store calls, on its SQL (and, on PostgreSQL, its knex transaction). */
  const tx = (sql: StoreSql, trx?: Knex.Transaction): ClaimStoreTx => {
    // The projections of the records this transaction read or wrote, worked out before the caller
    // gets (and may change) the record: an update rewrites only the projection rows that differ.
    const stored = new Map<string, Stored>();
    const remember = (row: ClaimRow | undefined) => {
      const claim = row && toClaim(row);
      if (claim) stored.set(claim.id, storedOf(claim));
      return claim;
    };
    return {
      keepReply: (reply) => keepReplyIn(sql, reply),
      async getClaim(id) {
        // FOR UPDATE serialises writers of one claim on PostgreSQL (the version check is the
        // guarantee; the lock saves the loser's work). SQLite has no FOR UPDATE: its
        // transactions begin IMMEDIATE and so already hold the write lock.
        const [row] = await sql.all<ClaimRow>(`select id, version, data from claims where id = ?${sql.postgres ? ' for update' : ''}`, [id]);
        return remember(row);
      },
      async insertClaim(claim) {
        const row = claimRow(claim);
        const columns = Object.keys(row);
        const inserted = await sql.run(
          `insert into claims (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')}) on conflict (id) do nothing`,
          Object.values(row),
        );
        if (inserted === 0) throw new ConflictError('claimExists', `Claim ${claim.id} already exists.`);
        stored.set(claim.id, { version: claim.version, columns: claimColumns(claim), projections: await writeProjections(sql, null, claim) });
      },
      async updateClaim(claim, expectedVersion) {
        let before = stored.get(claim.id);
        if (before?.version !== expectedVersion) {
          // Not read in this transaction: the projections are those of the row being replaced.
          const [old] = await sql.all<ClaimRow>('select id, version, data from claims where id = ? and version = ?', [claim.id, expectedVersion]);
          if (!old) throw staleVersion(claim.id);
          before = storedOf(toClaim(old));
        }
        // The columns that change (an index over a column set to its own value would be rewritten all the same).
        const { id, ...row } = claimRow(claim);
        const was: Record<string, unknown> = before.columns;
        const columns = Object.keys(row).filter((c) => c === 'version' || c === 'data' || row[c as keyof typeof row] !== was[c]);
        const changed = await sql.run(`update claims set ${columns.map((c) => `${c} = ?`).join(', ')} where id = ? and version = ?`, [
          ...columns.map((c) => row[c as keyof typeof row]),
          id,
          expectedVersion,
        ]);
        if (changed === 0) throw staleVersion(claim.id);
        stored.set(claim.id, { version: claim.version, columns: claimColumns(claim), projections: await writeProjections(sql, before.projections, claim) });
      },
      async appendHistory(entries) {
        await sql.insert('claim_history', entries.map(historyRow));
        await sql.insert('comments', commentsOf(entries).map(commentRow) as unknown as SqlRow[]);
      },
      async listHistory(claimId) {
        const rows = await sql.all<HistoryRow>('select entry from claim_history where claim_id = ? order by seq', [claimId]);
        return rows.map((row) => JSON.parse(row.entry) as HistoryEntry);
      },
      async appendOutbox(messages) {
        if (trx) {
          for (let i = 0; i < messages.length; i += 100) {
            await trx('outbox').insert(messages.slice(i, i + 100).map(outboxRow)).onConflict('id').ignore();
          }
          return;
        }
        for (const message of messages) {
          const row = outboxRow(message) as unknown as SqlRow;
          const columns = Object.keys(row);
          await sql.run(
            `insert into outbox (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')}) on conflict (id) do nothing`,
            Object.values(row),
          );
        }
      },
      async appendDecisions(records) {
        await sql.insert('decisions', records.map(decisionRow) as unknown as SqlRow[]);
      },
      async takeDueClaim(until, skip) {
        if (trx) {
          const query = trx('claims')
            .select('id', 'version', 'data')
            .whereNotNull('next_due_at')
            .where('next_due_at', '<=', iso(until))
            .orderBy([{ column: 'next_due_at' }, { column: 'created_at' }, { column: 'id' }])
            .limit(1);
          if (skip.size > 0) query.whereNotIn('id', [...skip]);
          const [row]: ClaimRow[] = await lockSkippingHeld(trx, query);
          return remember(row);
        }
        // SQLite: one writer at a time (IMMEDIATE), nothing to skip; the claims passed over come as one JSON array.
        const [row] = await sql.all<ClaimRow>(
          'select id, version, data from claims where next_due_at is not null and next_due_at <= ? ' +
            'and id not in (select value from json_each(?)) order by next_due_at, created_at, id limit 1',
          [iso(until), JSON.stringify([...skip])],
        );
        return remember(row);
      },
    };
  };

  return {
    ...createKnexClaimReadModel(knex),

    transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> {
      // SQLite: on the driver (immediate-sqlite-client.ts); PostgreSQL: a knex transaction.
      if (isPostgres(knex)) return knex.transaction((trx) => fn(tx(postgresSql(trx), trx)));
      return immediateTransaction(knex, (sql) => fn(tx(sql)));
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

    async countClaimsByPolicy() {
      const rows: Array<{ policy_id: string; policy_version: string; claims: number | string }> = await knex('claims')
        .select('policy_id', 'policy_version')
        .count({ claims: '*' })
        .groupBy('policy_id', 'policy_version');
      // PostgreSQL counts as bigint (a string); SQLite as a number.
      return rows.map((row) => ({ id: row.policy_id, version: row.policy_version, claims: Number(row.claims) }));
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

    async recordShadowDecisions(records) {
      // Each once: the unique index over shadow records' digests (migration 009) drops a repeat.
      for (const record of records) await knex('decisions').insert(decisionRow(record)).onConflict().ignore();
    },

    async pruneEvaluationDecisions(before) {
      return knex('decisions').where('kind', 'evaluation').andWhere('at', '<', iso(before)).delete();
    },

    async hasPoeFile(sha256) {
      return (await knex('poe_files').where('sha256', sha256).first('sha256')) !== undefined;
    },

    async recordPoeFile(file, at) {
      await knex('poe_files')
        .insert({ sha256: file.sha256, size: file.size, content_type: file.contentType, created_at: iso(at) })
        .onConflict('sha256')
        .ignore();
    },
  };
}
