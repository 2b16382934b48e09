/**
 * Work shared between instances and lists that stay fast at depth.
 *
 * - Claim lists page by the row value `(created_at, id) > (?, ?)`: each list filter gets an
 *   index that ends in (created_at, id), so a page at any depth starts where the cursor points
 *   instead of scanning the rows before it. The single-column indexes of 001 on status,
 *   partner_id and tenant_id are prefixes of the new ones and go.
 * - Due deadlines are taken in (next_due_at, created_at, id) order, the order DESIGN.md fires them in.
 * - `outbox.leased_until`: the instance delivering a message holds it until then; others skip
 *   it, and take it over once the lease lapses (the instance died mid-delivery).
 *
 * Never edit this file once it has landed: add a new migration.
 */
import type { Knex } from 'knex';

const LIST_INDEXES: ReadonlyArray<readonly [name: string, columns: string[]]> = [
  ['claims_status_created_at_id_idx', ['status', 'created_at', 'id']],
  ['claims_partner_created_at_id_idx', ['partner_id', 'created_at', 'id']],
  ['claims_partner_status_created_at_id_idx', ['partner_id', 'status', 'created_at', 'id']],
  ['claims_tenant_created_at_id_idx', ['tenant_id', 'created_at', 'id']],
  ['claims_tenant_status_created_at_id_idx', ['tenant_id', 'status', 'created_at', 'id']],
];

/** 001's indexes that the ones above replace. */
const REPLACED: ReadonlyArray<readonly [name: string, columns: string[]]> = [
  ['claims_status_idx', ['status']],
  ['claims_partner_id_idx', ['partner_id']],
  ['claims_tenant_id_idx', ['tenant_id']],
  ['claims_next_due_at_idx', ['next_due_at']],
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('claims', (t) => {
    for (const [name, columns] of LIST_INDEXES) t.index(columns, name);
    t.index(['next_due_at', 'created_at', 'id'], 'claims_next_due_at_created_at_id_idx');
    for (const [name, columns] of REPLACED) t.dropIndex(columns, name);
  });
  await knex.schema.alterTable('outbox', (t) => {
    t.string('leased_until').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('leased_until');
  });
  await knex.schema.alterTable('claims', (t) => {
    for (const [name, columns] of REPLACED) t.index(columns, name);
    t.dropIndex(['next_due_at', 'created_at', 'id'], 'claims_next_due_at_created_at_id_idx');
    for (const [name, columns] of LIST_INDEXES) t.dropIndex(columns, name);
  });
}
