/**
 * An Idempotency-Key in flight is a lease, not a lock held for the key's whole life: the
 * attempt that holds it has `lease_token`, until `lease_until` (ISO instant); once that has
 * passed, a retry may take the key over (a new token), and the old attempt can no longer store
 * its answer, so its change rolls back. Keys stored before this migration have no lease: one
 * still in flight is free to take over. Never edit this file once it has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.string('lease_token').nullable();
    t.string('lease_until').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('lease_token');
    t.dropColumn('lease_until');
  });
}
