/**
 * A backtest's claims read straight from the database in keyset batches: one query for
 * a batch of claims by (created_at, id), one for their histories. Rows stay JSON text
 * (the worker threads parse them). SQLite and PostgreSQL alike.
 */
import type { Knex } from 'knex';
import type { ClaimBatchItem, ClaimBatchSource } from '../backtest/claim-source';

export function knexClaimSource(knex: Knex, since?: Date): ClaimBatchSource {
  const sinceIso = since?.toISOString();
  let after: { createdAt: string; id: string } | undefined;
  return {
    async count() {
      const query = knex('claims').count({ n: '*' });
      if (sinceIso) query.where('created_at', '>=', sinceIso);
      const [row] = (await query) as Array<{ n: number | string }>;
      return Number(row?.n ?? 0);
    },
    async next(limit) {
      const query = knex('claims').select('id', 'created_at', 'data').orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(limit);
      if (after) query.whereRaw('(created_at, id) > (?, ?)', [after.createdAt, after.id]);
      else if (sinceIso) query.where('created_at', '>=', sinceIso);
      const rows = (await query) as Array<{ id: string; created_at: string; data: string }>;
      const last = rows.at(-1);
      if (!last) return [];
      after = { createdAt: last.created_at, id: last.id };
      const history = new Map<string, string[]>(rows.map((row) => [row.id, []]));
      const entries = (await knex('claim_history')
        .select('claim_id', 'entry')
        .whereIn(
          'claim_id',
          rows.map((row) => row.id),
        )
        .orderBy([{ column: 'claim_id' }, { column: 'seq' }])) as Array<{ claim_id: string; entry: string }>;
      for (const entry of entries) history.get(entry.claim_id)?.push(entry.entry);
      return rows.map((row): ClaimBatchItem => ({ claimJson: row.data, historyJson: history.get(row.id) ?? [] }));
    },
  };
}
