/**
 * Shadow decisions (kind `shadow`: what a candidate policy version would have decided on a
 * transition) are recorded once per claim, transition and shadow version: their input digest
 * names the three, and a unique index over the digests of shadow records lets a replayed or
 * retried record fall away (`ON CONFLICT DO NOTHING`). The whole log is read across claims a
 * page at a time, optionally of one kind: the (kind, id) index serves that. Never edit this
 * file once it has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A partial index: SQLite and PostgreSQL both have them (knex's builder does not say `WHERE` for both).
  await knex.raw("CREATE UNIQUE INDEX decisions_shadow_digest_idx ON decisions (input_digest) WHERE kind = 'shadow'");
  await knex.schema.alterTable('decisions', (t) => {
    t.index(['kind', 'id'], 'decisions_kind_id_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('decisions', (t) => {
    t.dropIndex(['kind', 'id'], 'decisions_kind_id_idx');
  });
  await knex.raw('DROP INDEX decisions_shadow_digest_idx');
}
