/**
 * Tenant IDs are GUIDs, compared without case (src/domain/tenant-id.ts): `claims.tenant_id`
 * now holds the tenant key (lower case), which the tenantId filter queries, as
 * `claim_products.tenant_id` already did. The claim's JSON keeps the ID as entered.
 * Claims stored before this migration are rewritten here. Never edit this file once it
 * has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex('claims').whereNotNull('tenant_id').update({ tenant_id: knex.raw('lower(??)', ['tenant_id']) });
}

/** Nothing to undo: the lower-case keys are valid tenant IDs, and the case as entered stays in `data`. */
export async function down(): Promise<void> {}
