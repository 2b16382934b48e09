/**
 * The conflict marker: `claim_conflicts` holds one row per claim that overlaps another
 * partner's claim (same tenant key, a common product code), in any state: the claim's own
 * machine state and the states of its rivals (`|submitted|underReview|`, sorted). A claim is
 * conflicted under a policy's activeStatuses when its state and one of its rivals' states are
 * among them, so `conflicted=true` reads this table in (created_at, claim_id) order, the
 * keyset cursor's, instead of probing every claim's products. The store rewrites the rows of
 * the claims a write concerns in that write's transaction. Claims stored before this
 * migration get their rows here. Never edit this file once it has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('claim_conflicts', (t) => {
    t.string('claim_id').primary().references('id').inTable('claims');
    t.string('created_at').notNullable();
    t.string('state').notNullable();
    t.text('rival_states').notNullable();
    // Covering: a page's filter on state and rivals is read from the index, in the cursor's order.
    t.index(['created_at', 'claim_id', 'state', 'rival_states'], 'claim_conflicts_created_at_claim_id_idx');
  });
  await backfill(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('claim_conflicts');
}

interface Pair {
  claim_id: string;
  created_at: string;
  state: string;
  rival: string;
}

/** Every overlapping claim's row, from claim_products as it stands (a frozen copy of the store's rule). */
async function backfill(knex: Knex): Promise<void> {
  const pairs: Pair[] = await knex('claim_products as mine')
    .distinct('mine.claim_id', 'claims.created_at', 'mine.state', 'theirs.state as rival')
    .join('claims', 'claims.id', 'mine.claim_id')
    .join('claim_products as theirs', (on) =>
      on.on('theirs.tenant_id', 'mine.tenant_id').andOn('theirs.product_code', 'mine.product_code').andOn('theirs.partner_id', '<>', 'mine.partner_id'),
    );
  const byClaim = new Map<string, { claim_id: string; created_at: string; state: string; rivals: Set<string> }>();
  for (const pair of pairs) {
    const row = byClaim.get(pair.claim_id) ?? { claim_id: pair.claim_id, created_at: pair.created_at, state: pair.state, rivals: new Set<string>() };
    row.rivals.add(pair.rival);
    byClaim.set(pair.claim_id, row);
  }
  const rows = [...byClaim.values()].map(({ rivals, ...row }) => ({ ...row, rival_states: `|${[...rivals].sort().join('|')}|` }));
  for (let i = 0; i < rows.length; i += 100) await knex('claim_conflicts').insert(rows.slice(i, i + 100));
}
