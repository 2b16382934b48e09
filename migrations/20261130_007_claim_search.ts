/**
 * An index for `GET /v1/claims?q=` (substring search without regard to case), which scanned
 * every claim's JSON. `claim_search` holds each claim's search text (src/claims/claim-search.ts:
 * customer name and domain, claim name, tenant ID, partner ID and claim ID, lower-cased, one per
 * line), written with the claim's other projections in its transaction. The substring index:
 *
 * - SQLite: an FTS5 table with the trigram tokenizer over it (external content, kept in step by
 *   triggers); a query of three characters or more is a trigram phrase MATCH.
 * - PostgreSQL: a GIN index with pg_trgm's `gin_trgm_ops` (a trusted extension since
 *   PostgreSQL 13: the database owner may create it), which serves `like '%…%'`. Where the
 *   extension cannot be created, the table stays without it and the search scans this
 *   narrow table instead of the claims' JSON.
 *
 * Claims stored before this migration get their search text here. Never edit this file once it
 * has landed: add a new migration.
 */
import type { Knex } from 'knex';

/** As src/claims/claim-search.ts wrote it when this migration landed (frozen here). */
function searchText(id: string, data: string): string {
  const fields = (JSON.parse(data) as { snapshot?: { context?: { fields?: Record<string, unknown> } } }).snapshot?.context?.fields ?? {};
  const customer = (fields.customer ?? {}) as Record<string, unknown>;
  return [customer.name, customer.domain, fields.name, customer.tenantId, fields.partnerId, id]
    .filter((value): value is string => typeof value === 'string' && value !== '')
    .map((value) => value.toLowerCase().replaceAll('\n', ' '))
    .join('\n');
}

const isPostgres = (knex: Knex) => (knex.client as { dialect?: string }).dialect === 'postgresql';

export async function up(knex: Knex): Promise<void> {
  if (isPostgres(knex)) {
    await knex.schema.createTable('claim_search', (t) => {
      t.string('claim_id').primary().references('id').inTable('claims');
      t.text('search_text').notNullable();
    });
    // In a savepoint: without the extension (not installed, or no right to create it) the migration goes on.
    try {
      await knex.transaction(async (sp) => {
        await sp.raw('create extension if not exists pg_trgm with schema public');
      });
    } catch {
      // Searched by scanning claim_search.
    }
    const found: { rows: Array<{ schema: string }> } = await knex.raw(
      "select n.nspname as schema from pg_opclass c join pg_namespace n on n.oid = c.opcnamespace where c.opcname = 'gin_trgm_ops' limit 1",
    );
    const trgmSchema = found.rows[0]?.schema;
    if (trgmSchema !== undefined) {
      await knex.raw('create index claim_search_text_trgm_idx on claim_search using gin (search_text ??.gin_trgm_ops)', [trgmSchema]);
    }
  } else {
    await knex.raw(
      'create table claim_search (row integer primary key, claim_id varchar(255) not null unique references claims(id), search_text text not null)',
    );
    await knex.raw("create virtual table claim_search_fts using fts5(search_text, content='claim_search', content_rowid='row', tokenize='trigram')");
    await knex.raw(
      'create trigger claim_search_ai after insert on claim_search begin insert into claim_search_fts(rowid, search_text) values (new.row, new.search_text); end',
    );
    await knex.raw(
      "create trigger claim_search_ad after delete on claim_search begin insert into claim_search_fts(claim_search_fts, rowid, search_text) values ('delete', old.row, old.search_text); end",
    );
    await knex.raw(
      "create trigger claim_search_au after update on claim_search begin insert into claim_search_fts(claim_search_fts, rowid, search_text) values ('delete', old.row, old.search_text); insert into claim_search_fts(rowid, search_text) values (new.row, new.search_text); end",
    );
  }
  // Claims stored before: their search text, a chunk at a time (SQLite takes at most 500 rows in one insert).
  let after = '';
  for (;;) {
    const rows: Array<{ id: string; data: string }> = await knex('claims').select('id', 'data').where('id', '>', after).orderBy('id').limit(100);
    if (rows.length === 0) break;
    await knex('claim_search').insert(rows.map((row) => ({ claim_id: row.id, search_text: searchText(row.id, String(row.data)) })));
    after = rows.at(-1)!.id;
  }
}

export async function down(knex: Knex): Promise<void> {
  if (!isPostgres(knex)) {
    for (const trigger of ['claim_search_ai', 'claim_search_ad', 'claim_search_au']) await knex.raw(`drop trigger if exists ${trigger}`);
    await knex.raw('drop table if exists claim_search_fts');
  }
  await knex.schema.dropTableIfExists('claim_search');
}
