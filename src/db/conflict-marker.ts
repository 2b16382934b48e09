/**
 * Keeps the conflict marker (`claim_conflicts`, migration 008) true in the transaction of
 * every write that changes claim_products: the rows of the written claim and of every claim
 * sharing a (tenant, product code) with it, before or after the write, are worked out again
 * from claim_products. On PostgreSQL, writers of claims sharing a (tenant, product code) take
 * turns (a transaction-scoped advisory lock per pair, taken in order), so each works its
 * markers out from the other's committed rows.
 */
import type { SqlRow, StoreSql } from './store-sql';

/** First half of the advisory locks' keys (the second: a hash of tenant and product code). */
const CONFLICT_LOCK_CLASS = 0x636f_6e66; // "conf"

interface Pair {
  created_at: string;
  state: string;
  rival: string;
}

/** The rival states column: `|a|b|`, sorted, so `like '%|a|%'` finds a state. */
const rivalStates = (states: Iterable<string>) => `|${[...new Set(states)].sort().join('|')}|`;

/** Works out again the markers that a change of `claimId`'s claim_products rows (`before` and `after`) may change. */
export async function refreshConflictMarkers(sql: StoreSql, claimId: string, before: readonly SqlRow[], after: readonly SqlRow[]): Promise<void> {
  const rows = [...before, ...after];
  if (rows.length === 0) return;
  const keys = [...new Set(rows.map((row) => `${String(row.tenant_id)}\n${String(row.product_code)}`))].sort();
  if (sql.postgres) {
    for (const key of keys) await sql.run('select pg_advisory_xact_lock(cast(? as integer), hashtext(?))', [CONFLICT_LOCK_CLASS, key]);
  }
  const affected = new Set([claimId]);
  const triples = new Set(rows.map((row) => JSON.stringify([row.tenant_id, row.product_code, row.partner_id])));
  for (const triple of triples) {
    const params = JSON.parse(triple) as [string, string, string];
    const rivals = await sql.all<{ claim_id: string }>(
      'select claim_id from claim_products where tenant_id = ? and product_code = ? and partner_id <> ?',
      params,
    );
    for (const rival of rivals) affected.add(rival.claim_id);
  }
  for (const id of affected) await refreshMarker(sql, id);
}

async function refreshMarker(sql: StoreSql, claimId: string): Promise<void> {
  const pairs = await sql.all<Pair>(
    'select claims.created_at, mine.state, theirs.state as rival from claim_products mine ' +
      'join claims on claims.id = mine.claim_id ' +
      'join claim_products theirs on theirs.tenant_id = mine.tenant_id and theirs.product_code = mine.product_code and theirs.partner_id <> mine.partner_id ' +
      'where mine.claim_id = ?',
    [claimId],
  );
  const [first] = pairs;
  if (!first) {
    await sql.run('delete from claim_conflicts where claim_id = ?', [claimId]);
    return;
  }
  await sql.run(
    'insert into claim_conflicts (claim_id, created_at, state, rival_states) values (?, ?, ?, ?) ' +
      'on conflict (claim_id) do update set created_at = excluded.created_at, state = excluded.state, rival_states = excluded.rival_states',
    [claimId, first.created_at, first.state, rivalStates(pairs.map((pair) => pair.rival))],
  );
}
