/**
 * The decision log keeps who asked (`author_role`, `author_id`: the caller's role and
 * subject; `system` for deadlines), and is read a page at a time, optionally of one kind
 * (transitions apart from evaluations): the (claim_id, kind, id) index serves that.
 * Records stored before this migration have no author (null). Never edit this file once
 * it has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('decisions', (t) => {
    t.string('author_role').nullable();
    t.string('author_id').nullable();
    t.index(['claim_id', 'kind', 'id'], 'decisions_claim_id_kind_id_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('decisions', (t) => {
    t.dropIndex(['claim_id', 'kind', 'id'], 'decisions_claim_id_kind_id_idx');
    t.dropColumn('author_role');
    t.dropColumn('author_id');
  });
}
