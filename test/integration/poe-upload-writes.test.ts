/**
 * A PoE upload writes in one transaction: the claim, its history, decision, projections and
 * the stored file's facts (poe_files) commit together; with an Idempotency-Key, the key's
 * lease is the one write before it. Counted on SQLite and PostgreSQL as commits plus writes
 * outside any transaction. Before: the change's transaction, then poe_files on its own.
 * The file lands at its content address before that transaction commits (a crash between
 * the two leaves a file no claim names, never a claim naming a missing file), and an upload
 * the claim refuses removes the file it landed unless a claim names those bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_DATABASES, useDatabase, type DatabaseFixture } from '../support/databases';
import { httpHelpers, POE_FIELDS } from '../support/http-requests';
import { compilePolicy } from '../../src/policies/compiled-policy';
import { staticPolicySource } from '../../src/policies/policy-registry';
import { bundledPolicy, withPolicy } from '../support/bundled-policy';
import { pdfBytes } from '../support/factories';
import { createTestApp, type TestApp } from '../support/test-app';

const addressOf = (poeDir: string, bytes: Buffer) => {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return join(poeDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
};

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

  it('the file is at its content address when the change commits (a crash after the commit loses no file)', async () => {
    const h = httpHelpers(t);
    const { id } = await h.createClaim();
    const bytes = pdfBytes(4096);
    const path = addressOf(t.poeDir, bytes);
    const seenAtCommit: boolean[] = [];
    knex.on('query', (query: QueryEvent) => {
      if (/^commit/i.test(query.sql)) seenAtCommit.push(existsSync(path));
    });
    const upload = await h.uploadPoe(id, 'partner', POE_FIELDS, bytes);
    expect(upload.status).toBe(201);
    expect(seenAtCommit.length).toBeGreaterThan(0);
    expect(seenAtCommit.at(-1)).toBe(true);
  });

  it('an upload the claim refuses (poeBytesLimitReached) leaves no file, and keeps one another claim names', async () => {
    await t.close();
    const policy = withPolicy(await bundledPolicy(), (p) => void (p.limits = { poeBytesPerClaim: 5000 }));
    t = await createTestApp({ database: counted, policies: staticPolicySource(compilePolicy(policy)) });
    const h = httpHelpers(t);
    const first = await h.createClaim();
    const second = await h.createClaim();
    const small = pdfBytes(3000);
    expect((await h.uploadPoe(first.id, 'partner', POE_FIELDS, small)).status).toBe(201);
    // 3,000 + 3,000 bytes would pass the claim's 5,000: refused after the file was received.
    const refused = await h.uploadPoe(first.id, 'partner', POE_FIELDS, pdfBytes(3001));
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('poeBytesLimitReached');
    expect(existsSync(addressOf(t.poeDir, pdfBytes(3001)))).toBe(false);
    // The same bytes as a file the first claim holds: refused on the second claim too, but kept.
    expect((await h.uploadPoe(second.id, 'partner', POE_FIELDS, pdfBytes(4000))).status).toBe(201);
    const again = await h.uploadPoe(second.id, 'partner', POE_FIELDS, small);
    expect(again.body.code).toBe('poeBytesLimitReached');
    expect(existsSync(addressOf(t.poeDir, small))).toBe(true);
    const download = await h.api().get(`/v1/claims/${first.id}/poe/${(await t.store.getClaim(first.id))!.snapshot.context.poe[0]!.id}`).set('Authorization', await h.auth('partner'));
    expect(download.status).toBe(200);
  });
});
