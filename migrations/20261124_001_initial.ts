/**
 * The initial schema. Times are ISO-8601 UTC strings with milliseconds (they compare
 * as text the same way on SQLite and PostgreSQL); JSON is stored as text. Never edit
 * this file once it has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('claims', (t) => {
    t.string('id').primary();
    t.integer('version').notNullable();
    t.string('state').notNullable();
    t.string('status').notNullable();
    t.string('substatus').nullable();
    t.string('reason').nullable();
    t.string('partner_id').nullable();
    t.string('tenant_id').nullable();
    t.string('policy_id').notNullable();
    t.string('policy_version').notNullable();
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.string('next_due_at').nullable();
    t.text('data').notNullable();
    t.index(['created_at', 'id'], 'claims_created_at_id_idx');
    t.index(['status'], 'claims_status_idx');
    t.index(['partner_id'], 'claims_partner_id_idx');
    t.index(['tenant_id'], 'claims_tenant_id_idx');
    t.index(['next_due_at'], 'claims_next_due_at_idx');
  });

  await knex.schema.createTable('claim_history', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.integer('seq').notNullable();
    t.string('at').notNullable();
    t.string('actor_role').notNullable();
    t.string('actor_id').nullable();
    t.string('event').notNullable();
    t.string('from_state').notNullable();
    t.string('to_state').notNullable();
    t.text('payload').notNullable();
    t.text('entry').notNullable();
    t.string('prev_hash').nullable();
    t.string('hash').notNullable();
    t.primary(['claim_id', 'seq']);
  });

  await knex.schema.createTable('claim_deadlines', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.string('id').notNullable();
    t.string('name').notNullable();
    t.string('status').notNullable();
    t.string('started_at').notNullable();
    t.string('due').notNullable();
    t.string('due_at').notNullable();
    t.string('ended_at').nullable();
    t.boolean('lapsed').notNullable();
    t.primary(['claim_id', 'id']);
    t.index(['status', 'due_at'], 'claim_deadlines_status_due_at_idx');
  });

  await knex.schema.createTable('claim_overdue', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.string('name').notNullable();
    t.primary(['claim_id', 'name']);
    t.index(['name'], 'claim_overdue_name_idx');
  });

  await knex.schema.createTable('poe_documents', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.string('id').notNullable();
    t.string('file_name').notNullable();
    t.boolean('customer_signed').notNullable();
    t.string('signed_on').nullable();
    t.string('sha256').nullable();
    t.bigInteger('size').nullable();
    t.string('content_type').nullable();
    t.string('uploaded_at').notNullable();
    t.string('uploaded_by').notNullable();
    t.primary(['claim_id', 'id']);
    t.index(['sha256'], 'poe_documents_sha256_idx');
  });

  await knex.schema.createTable('poe_files', (t) => {
    t.string('sha256').primary();
    t.bigInteger('size').notNullable();
    t.string('content_type').notNullable();
    t.string('created_at').notNullable();
  });

  await knex.schema.createTable('disputes', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.integer('idx').notNullable();
    t.string('program').notNullable();
    t.text('details').notNullable();
    t.string('raised_at').notNullable();
    t.string('raised_by').notNullable();
    t.string('outcome').nullable();
    t.string('resolved_at').nullable();
    t.primary(['claim_id', 'idx']);
  });

  await knex.schema.createTable('comments', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.integer('seq').notNullable();
    t.string('at').notNullable();
    t.string('event').notNullable();
    t.string('author_role').notNullable();
    t.string('author_id').nullable();
    t.text('text').notNullable();
    t.primary(['claim_id', 'seq']);
  });

  await knex.schema.createTable('outbox', (t) => {
    t.string('id').primary();
    t.string('claim_id').notNullable().references('id').inTable('claims');
    t.string('type').notNullable();
    t.string('audience').notNullable();
    t.string('at').notNullable();
    t.text('payload').notNullable();
    t.string('status').notNullable();
    t.integer('attempts').notNullable();
    t.string('next_attempt_at').nullable();
    t.text('last_error').nullable();
    t.string('delivered_at').nullable();
    t.index(['status', 'next_attempt_at'], 'outbox_status_next_attempt_at_idx');
    t.index(['claim_id'], 'outbox_claim_id_idx');
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('scope').notNullable();
    t.string('key').notNullable();
    t.string('request_hash').notNullable();
    t.integer('response_status').nullable();
    t.text('response_headers').nullable();
    t.text('response_body').nullable();
    t.string('created_at').notNullable();
    t.primary(['scope', 'key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'outbox',
    'comments',
    'disputes',
    'poe_files',
    'poe_documents',
    'claim_overdue',
    'claim_deadlines',
    'claim_history',
    'claims',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
