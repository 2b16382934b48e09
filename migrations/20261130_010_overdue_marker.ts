/**
 * The overdue marker: each `claim_overdue` row (a claim flagged overdue on a deadline name)
 * also holds the claim's `created_at` and the list filters' columns (`status`, `tenant_id` as
 * the tenant key, `partner_id`), kept in the write's transaction with the rest of the claim's
 * projections (src/db/overdue-marker.ts). `overdue=` lists then read this table in the keyset
 * cursor's order, from an index per filter combination ending in (created_at, claim_id) as
 * the claims' list indexes of migration 006 do, instead of walking every claim and probing
 * the flags. The index on `name` alone is a prefix of the new ones and goes. Rows stored
 * before this migration get their columns here. Never edit this file once it has landed: add
 * a new migration.
 */
import type { Knex } from 'knex';

/** Columns copied from the claim (nullable: SQLite adds no NOT NULL column without a default; the store always writes them). */
const COLUMNS = ['created_at', 'status', 'tenant_id', 'partner_id'] as const;

const INDEXES: ReadonlyArray<readonly [name: string, columns: string[]]> = [
  ['claim_overdue_name_created_at_idx', ['name', 'created_at', 'claim_id']],
  ['claim_overdue_name_status_created_at_idx', ['name', 'status', 'created_at', 'claim_id']],
  ['claim_overdue_name_partner_created_at_idx', ['name', 'partner_id', 'created_at', 'claim_id']],
  ['claim_overdue_name_partner_status_created_at_idx', ['name', 'partner_id', 'status', 'created_at', 'claim_id']],
  ['claim_overdue_name_tenant_created_at_idx', ['name', 'tenant_id', 'created_at', 'claim_id']],
  ['claim_overdue_name_tenant_status_created_at_idx', ['name', 'tenant_id', 'status', 'created_at', 'claim_id']],
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('claim_overdue', (t) => {
    for (const column of COLUMNS) t.string(column).nullable();
  });
  // From the claims as they stand (the claims' columns are what the lists filter on).
  for (const column of COLUMNS) {
    await knex.raw(`update claim_overdue set ${column} = (select claims.${column} from claims where claims.id = claim_overdue.claim_id)`);
  }
  await knex.schema.alterTable('claim_overdue', (t) => {
    for (const [name, columns] of INDEXES) t.index(columns, name);
    t.dropIndex(['name'], 'claim_overdue_name_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('claim_overdue', (t) => {
    t.index(['name'], 'claim_overdue_name_idx');
    for (const [name, columns] of INDEXES) t.dropIndex(columns, name);
  });
  // Plain ALTER TABLE … DROP COLUMN (SQLite 3.35 and later, PostgreSQL): knex would copy the table on SQLite.
  for (const column of COLUMNS) await knex.raw(`alter table claim_overdue drop column ${column}`);
}
