/**
 * A PoE upload writes in one transaction: the claim, its history, decision, projections and
 * the stored file's facts (poe_files) commit together; with an Idempotency-Key, the key's
 * lease is the one write before it. Counted on SQLite and PostgreSQL as commits plus writes
 * outside any transaction. Before: the change's transaction, then poe_files on its own.
 */
import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES, useDatabase, type DatabaseFixture } from '../support/databases';
import { httpHelpers, POE_FIELDS } from '../support/http-requests';
import { pdfBytes } from '../support/factories';
import { createTestApp, type TestApp } from '../support/test-app';

interface QueryEvent {
  sql: string;
  __knexTxId?: string;
}

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let t: TestApp;
  let writes: string[] = [];
  let counting = false;
  let knex: Knex;
  /** The fixture, with every pool it opens counting its writes while `counting`. */
  const counted: DatabaseFixture = {
    ...db,
    async setup(options) {
      const setup = await db.setup(options);
      knex = setup.knex!;
      setup.knex!.on('query', (query: QueryEvent) => {
        if (!counting) return;
        if (/^commit/i.test(query.sql)) writes.push('transaction');
        else if (!query.__knexTxId && /^(insert|update|delete)/i.test(query.sql)) writes.push(`autocommit: ${query.sql.slice(0, 40)}`);
      });
      return setup;
    },
  };
  beforeEach(async () => {
    t = await createTestApp({ database: counted });
    writes = [];
  });
  afterEach(() => t.close());

  it('an upload without an Idempotency-Key is one transaction, and records the file facts in it', async () => {
    const h = httpHelpers(t);
    const { id } = await h.createClaim();
    counting = true;
    const upload = await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(4096));
    counting = false;
    expect(upload.status).toBe(201);
    expect(writes).toEqual(['transaction']);
    const stored = (await t.store.getClaim(id))!.snapshot.context.poe.at(-1)!;
    expect(stored).toMatchObject({ size: 4096, contentType: 'application/pdf' });
    const files = await knex('poe_files').select('sha256', 'size', 'content_type');
    expect(files.map((f: { sha256: string; size: number | string; content_type: string }) => ({ ...f, size: Number(f.size) }))).toEqual([
      { sha256: stored.sha256, size: 4096, content_type: 'application/pdf' },
    ]);
  });

  it('an upload with an Idempotency-Key is the lease and then one transaction', async () => {
    const h = httpHelpers(t);
    const { id } = await h.createClaim();
    counting = true;
    let req = h.api().post(`/v1/claims/${id}/poe`).set('Authorization', await h.auth('partner')).set('Idempotency-Key', 'upload-1');
    for (const [key, value] of Object.entries(POE_FIELDS)) req = req.field(key, value);
    const upload = await req.attach('file', pdfBytes(), { filename: 'sow.pdf', contentType: 'application/pdf' });
    counting = false;
    expect(upload.status).toBe(201);
    expect(writes).toEqual([expect.stringMatching(/^autocommit: insert into .idempotency_keys/), 'transaction']);
  });
});
