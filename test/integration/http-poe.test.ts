import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { POE_MAX_BYTES } from '../../src/poe/allowed-poe-types';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { CALLERS, httpHelpers, PARTNER_ID, pdfBytes, POE_FIELDS } from '../support/http-requests';
import { policyYaml } from '../support/policy-factory';
import { createTestApp, TEST_START, type TestApp } from '../support/test-app';

const LIMIT = 64 * 1024;
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 1)]);

/** The app on a real port, for requests supertest cannot send (truncated, aborted, slow). */
async function listen(app: TestApp['app']): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const BOUNDARY = 'cporTestBoundary';

/** A multipart body with the PoE fields and a file part; `truncate` leaves off the file's end and the closing boundary. */
function multipartBody(file: Buffer, options: { truncate?: boolean } = {}): Buffer {
  const fields = Object.entries(POE_FIELDS).map(
    ([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const fileHead = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="sow.pdf"\r\nContent-Type: application/pdf\r\n\r\n`;
  if (options.truncate) return Buffer.concat([Buffer.from(fields.join('') + fileHead), file.subarray(0, file.length >> 1)]);
  return Buffer.concat([Buffer.from(fields.join('') + fileHead), file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

/** What the server answers on a socket, collected until it closes the connection. */
function collect(socket: Socket): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [headers = '', ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

/** Sends raw bytes (without closing its side: Node drops a half-closed request) and collects the answer until the server closes. */
function rawRequest(port: number, head: string, body: Buffer): Promise<{ status: number; headers: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  const answer = collect(socket);
  socket.write(head);
  socket.write(body);
  return answer;
}

async function uploadHead(t: TestApp, id: string, length: number, extra = ''): Promise<string> {
  return (
    `POST /v1/claims/${id}/poe HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${await t.bearer(CALLERS.partner)}\r\n` +
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${length}\r\nConnection: close\r\n${extra}\r\n`
  );
}

/** Every file under the PoE folder, temp files included. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  let claimId: string;
  beforeEach(async () => {
    t = await createTestApp({ database: db, limits: { poeMaxBytes: LIMIT } });
    h = httpHelpers(t);
    claimId = (await h.createClaim()).id;
  });
  afterEach(() => t.close());

  const recorded = async () => (await t.store.getClaim(claimId))!;

  describe('uploading a PoE file', () => {
    it('a file of exactly the limit is accepted; one byte more is 413 and nothing is recorded', async () => {
      const exact = await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(LIMIT));
      expect(exact.status).toBe(201);
      expect(exact.body).toMatchObject({ size: LIMIT, contentType: 'application/pdf', fileName: 'sow.pdf' });

      const before = await recorded();
      const over = await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(LIMIT + 1));
      expect(over.status).toBe(413);
      expect(over.body).toMatchObject({ code: 'poeTooLarge', limit: LIMIT });
      expect(await recorded()).toEqual(before);
    });

    it('the default limit is POE_MAX_BYTES, exactly', async () => {
      await t.close();
      t = await createTestApp({ database: db });
      h = httpHelpers(t);
      claimId = (await h.createClaim()).id;
      expect((await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(POE_MAX_BYTES))).status).toBe(201);
      expect((await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(POE_MAX_BYTES + 1))).status).toBe(413);
    });

    it('a body far over the limit is refused from its Content-Length', async () => {
      const res = await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(LIMIT * 4));
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('poeTooLarge');
    });

    it('a .pdf that is not a PDF is 415 unsupportedFileType, whatever its Content-Type says', async () => {
      const res = await h.uploadPoe(claimId, 'partner', POE_FIELDS, Buffer.from('<html><script>alert(1)</script></html>'), 'sow.pdf');
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ code: 'unsupportedFileType', status: 415 });
      expect((await recorded()).snapshot.context.poe).toEqual([]);
      const empty = await h.uploadPoe(claimId, 'partner', POE_FIELDS, Buffer.alloc(0), 'sow.pdf');
      expect(empty.status).toBe(415);
      expect(await filesUnder(t.poeDir)).toEqual([]);
    });

    it('the type comes from the content: a PNG named .pdf is stored as image/png with a .png name', async () => {
      const res = await h.uploadPoe(claimId, 'partner', POE_FIELDS, PNG, 'scan.pdf');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ contentType: 'image/png', fileName: 'scan.png' });
    });

    it.each([
      ['../../../etc/passwd.pdf', 'passwd.pdf'],
      ['..\\..\\windows\\system32\\sow.pdf', 'sow.pdf'],
      ['invoice\u202Efdp.exe', 'invoicefdp.exe.pdf'],
      ['con.pdf', '_con.pdf'],
      ['.pdf', 'document.pdf'],
    ])('the name %j is stored as %j', async (name, stored) => {
      const res = await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(), name);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.fileName).toBe(stored);
      expect((await recorded()).snapshot.context.poe.at(-1)!.fileName).toBe(stored);
    });

    it('a very long name is cut to at most 120 bytes and keeps its extension', async () => {
      const res = await h.uploadPoe(claimId, 'partner', POE_FIELDS, pdfBytes(), `${'Statement of work '.repeat(30)}.pdf`);
      expect(res.status).toBe(201);
      expect(Buffer.byteLength(res.body.fileName)).toBeLessThanOrEqual(120);
      expect(res.body.fileName).toMatch(/^Statement of work .*\.pdf$/);
    });

    it('records the form fields: products repeated or comma-separated, flags, signing date; answers 201 with Location and ETag', async () => {
      let req = h.api().post(`/v1/claims/${claimId}/poe`).set('Authorization', await h.auth('partner'));
      req = req.field('customerSigned', 'false').field('describesWork', 'true').field('products', 'teams, exchange').field('products', 'sharePoint');
      const res = await req.attach('file', pdfBytes(), 'sow.pdf');
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/v1/claims/${claimId}/poe/${res.body.id}`);
      expect(res.headers.etag).toBe('"2"');
      expect(res.body).toMatchObject({ customerSigned: false, describesWork: true, signedOn: null, products: ['teams', 'exchange', 'sharePoint'] });
      expect(res.body).not.toHaveProperty('path');
      expect((await h.getClaim(claimId)).body.deficiencies.map((d: { code: string }) => d.code)).toContain('missingCustomerAcknowledgment');
    });

    it.each([
      ['a flag that is not true or false', { ...POE_FIELDS, customerSigned: 'yes' }, '$.customerSigned'],
      ['an unknown product code', { ...POE_FIELDS, products: 'teams,minecraft' }, '$.products[1]'],
      ['a date that is not a date', { ...POE_FIELDS, signedOn: '20 Feb' }, '$.signedOn'],
      ['an unknown field', { ...POE_FIELDS, approvedBy: 'me' }, '$.approvedBy'],
      ['a missing field', { customerSigned: 'true', products: 'teams' }, '$.describesWork'],
    ])('%s is a 400 with its path', async (_name, fields, path) => {
      const res = await h.uploadPoe(claimId, 'partner', fields as Record<string, string>);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      expect((await recorded()).version).toBe(1);
    });

    it('a form without a file, or with two, is a 400; a JSON body is a 415', async () => {
      let noFile = h.api().post(`/v1/claims/${claimId}/poe`).set('Authorization', await h.auth('partner'));
      for (const [k, v] of Object.entries(POE_FIELDS)) noFile = noFile.field(k, v);
      expect((await noFile).body).toMatchObject({ status: 400, errors: [{ path: '$.file' }] });

      let two = h.api().post(`/v1/claims/${claimId}/poe`).set('Authorization', await h.auth('partner'));
      for (const [k, v] of Object.entries(POE_FIELDS)) two = two.field(k, v);
      const twoFiles = await two.attach('file', pdfBytes(), 'a.pdf').attach('file', pdfBytes(), 'b.pdf');
      expect(twoFiles.status).toBe(400);

      const json = await h.api().post(`/v1/claims/${claimId}/poe`).set('Authorization', await h.auth('partner')).send({ fileName: 'sow.pdf' });
      expect(json.body).toMatchObject({ status: 415, code: 'unsupportedMediaType' });
    });

    it('a claim that no longer takes documents refuses the upload (409) and keeps no file of it', async () => {
      const id = await h.submittedClaim();
      await h.actOk(id, 'withdraw', 'partner');
      const before = await filesUnder(t.poeDir);
      const other = pdfBytes(3000);
      other.write('never stored', 50);
      const res = await h.uploadPoe(id, 'partner', POE_FIELDS, other);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('invalidState');
      expect(await filesUnder(t.poeDir)).toEqual(before);
    });

    it('the role and the claim\'s state are checked before the body is read: a withdrawn claim answers 409 to the headers alone', async () => {
      const id = await h.submittedClaim();
      await h.actOk(id, 'withdraw', 'partner');
      const server = await listen(t.app);
      try {
        const socket = connect(server.port, '127.0.0.1');
        const status = new Promise<number>((resolve, reject) => {
          let text = '';
          socket.on('data', (chunk) => {
            text += chunk.toString('latin1');
            if (text.includes('\r\n\r\n')) resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
          });
          socket.on('error', reject);
        });
        // Headers announcing a 60 KB body, and not one byte of it.
        socket.write(await uploadHead(t, id, 60_000));
        expect(await status).toBe(409);
        socket.destroy();
        expect(await filesUnder(join(t.poeDir, '.staging'))).toEqual([]);
      } finally {
        await server.close();
      }
    });

    it('an upload refused by the claim after its file arrived (withdrawn meanwhile) answers 409 and leaves no file, staged or stored', async () => {
      const id = await h.submittedClaim();
      const before = await filesUnder(t.poeDir);
      const server = await listen(t.app);
      try {
        const file = pdfBytes(50_000);
        file.write('arrives while the claim is withdrawn', 100);
        const body = multipartBody(file);
        const socket = connect(server.port, '127.0.0.1');
        const answer = collect(socket);
        socket.write(await uploadHead(t, id, body.length));
        socket.write(body.subarray(0, 40_000));
        // The file part is being staged: one temp file more than before.
        await vi.waitFor(async () => expect((await filesUnder(t.poeDir)).length).toBe(before.length + 1), { timeout: 5000, interval: 20 });
        await t.service.act(id, 'withdraw', CALLERS.partner, {});
        socket.write(body.subarray(40_000));
        const res = await answer;
        expect(res.status).toBe(409);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'invalidState' });
        expect(await filesUnder(t.poeDir)).toEqual(before);
        expect((await t.store.getClaim(id))!.snapshot.context.poe).toHaveLength(1);
      } finally {
        await server.close();
      }
    });
  });

  describe('downloading a PoE file', () => {
    it('returns the same bytes as an attachment with the type found at upload and nosniff', async () => {
      const bytes = pdfBytes(5000);
      bytes.write('unique content', 100);
      const uploaded = await h.uploadPoe(claimId, 'partner', POE_FIELDS, bytes, 'Übersicht – SOW "final".pdf');
      expect(uploaded.status).toBe(201);
      const res = await h.api()
        .get(uploaded.body.href)
        .set('Authorization', await h.auth('customer'))
        .buffer(true)
        .parse((response, done) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect(res.status).toBe(200);
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
      expect(res.headers['content-type']).toBe('application/pdf');
      expect(res.headers['content-length']).toBe('5000');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const disposition = res.headers['content-disposition'] as string;
      expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
      const encoded = /filename\*=UTF-8''(.+)$/.exec(disposition)![1]!;
      expect(decodeURIComponent(encoded)).toBe(uploaded.body.fileName);
      expect(uploaded.body.fileName).toBe('Übersicht – SOW final.pdf');
    });

    it('an unknown document is a 404', async () => {
      const res = await h.api().get(`/v1/claims/${claimId}/poe/nope`).set('Authorization', await h.auth('partner'));
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('poeNotFound');
    });
  });

  describe('uploads a client breaks off', () => {
    it('a file part without its closing boundary is a 400 problem, and the server keeps serving', async () => {
      const server = await listen(t.app);
      try {
        const body = multipartBody(pdfBytes(20_000), { truncate: true });
        const res = await rawRequest(server.port, await uploadHead(t, claimId, body.length), body);
        expect(res.status).toBe(400);
        expect(res.headers).toMatch(/content-type: application\/problem\+json/i);
        expect(JSON.parse(res.body)).toMatchObject({ status: 400, code: 'malformedMultipart' });
        const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
        expect(health.status).toBe(200);
        expect((await recorded()).snapshot.context.poe).toEqual([]);
        expect(await filesUnder(t.poeDir)).toEqual([]);
      } finally {
        await server.close();
      }
    });

    it('an upload whose connection is cut midway stores nothing and leaves the server healthy', async () => {
      const server = await listen(t.app);
      try {
        const body = multipartBody(pdfBytes(40_000));
        const head = await uploadHead(t, claimId, body.length);
        await new Promise<void>((resolve) => {
          const socket = connect(server.port, '127.0.0.1', () => {
            socket.write(head);
            socket.write(body.subarray(0, 30_000), () => setTimeout(() => socket.destroy(), 50));
          });
          socket.on('close', () => resolve());
          socket.on('error', () => undefined);
        });
        await vi.waitFor(async () => expect(await filesUnder(t.poeDir)).toEqual([]), { timeout: 5000, interval: 50 });
        expect(t.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
        expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
        expect((await recorded()).snapshot.context.poe).toEqual([]);
        const ok = await h.uploadPoe(claimId);
        expect(ok.status).toBe(201);
      } finally {
        await server.close();
      }
    });
  });

  describe('upload limits', () => {
    /** Starts an upload over a socket, sends `sent` bytes of its body and waits until its file is being staged. */
    async function heldUpload(port: number, sent = 10_000) {
      const body = multipartBody(pdfBytes(40_000));
      const socket = connect(port, '127.0.0.1');
      const answer = collect(socket);
      socket.write(await uploadHead(t, claimId, body.length));
      socket.write(body.subarray(0, sent));
      await vi.waitFor(async () => expect(await filesUnder(t.poeDir)).toHaveLength(1), { timeout: 5000, interval: 20 });
      return { socket, answer, rest: body.subarray(sent) };
    }

    it('past POE_MAX_CONCURRENT_UPLOADS an upload answers 503 with Retry-After; the held one still lands', async () => {
      await t.close();
      t = await createTestApp({ database: db, limits: { poeMaxBytes: LIMIT, poeMaxConcurrentUploads: 1 } });
      h = httpHelpers(t);
      claimId = (await h.createClaim()).id;
      const server = await listen(t.app);
      try {
        const held = await heldUpload(server.port);
        const refused = await h.uploadPoe(claimId);
        expect(refused.status).toBe(503);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.headers['retry-after']).toBe('5');
        expect(refused.body).toMatchObject({ code: 'tooManyUploads', limit: 1 });
        // Back-pressure is not a fault: nothing is logged as an error.
        expect(t.logs.filter((line) => line.level === 50)).toEqual([]);
        held.socket.write(held.rest);
        expect((await held.answer).status).toBe(201);
        expect((await h.uploadPoe(claimId)).status).toBe(201);
      } finally {
        await server.close();
      }
    });

    it('an upload that sends nothing for POE_UPLOAD_IDLE_MS is cut off with 408 and its staged file removed', async () => {
      await t.close();
      t = await createTestApp({ database: db, limits: { poeMaxBytes: LIMIT, poeUploadIdleMs: 300 } });
      h = httpHelpers(t);
      claimId = (await h.createClaim()).id;
      const server = await listen(t.app);
      try {
        const held = await heldUpload(server.port);
        const res = await held.answer;
        expect(res.status).toBe(408);
        expect(res.headers).toMatch(/content-type: application\/problem\+json/i);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'uploadTimeout', idleMs: 300 });
        expect(await filesUnder(t.poeDir)).toEqual([]);
        expect((await recorded()).snapshot.context.poe).toEqual([]);
        expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      } finally {
        await server.close();
      }
    });

    it('an upload that trickles past POE_UPLOAD_TIMEOUT_MS is cut off with 408 though it never went idle', async () => {
      await t.close();
      t = await createTestApp({ database: db, limits: { poeMaxBytes: LIMIT, poeUploadIdleMs: 5000, poeUploadTimeoutMs: 600 } });
      h = httpHelpers(t);
      claimId = (await h.createClaim()).id;
      const server = await listen(t.app);
      try {
        const held = await heldUpload(server.port);
        let at = 0;
        const trickle = setInterval(() => {
          if (!held.socket.destroyed) held.socket.write(held.rest.subarray(at, (at += 10)));
        }, 50);
        const res = await held.answer.finally(() => clearInterval(trickle));
        expect(res.status).toBe(408);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'uploadTimeout', totalMs: 600 });
        expect(at).toBeLessThan(held.rest.length);
        expect(await filesUnder(t.poeDir)).toEqual([]);
      } finally {
        await server.close();
      }
    });
  });

  describe('uploads under the policy version the claim follows', () => {
    const BILLING = { role: 'billingAdmin', partnerId: PARTNER_ID, id: 'billing@fabrikam.com' };
    let dir: string;
    let registry: PolicyRegistry;
    beforeEach(async () => {
      await t.close();
      dir = mkdtempSync(join(tmpdir(), 'cpor-policies-'));
      // 2026.1 lets only incentives and global admins upload; 2026.2, from April, billing admins too.
      writeFileSync(join(dir, 'cpor-2026.1.yaml'), policyYaml({ events: { uploadPoe: { roles: ['incentivesAdmin', 'globalAdmin'] } } }));
      writeFileSync(
        join(dir, 'cpor-2026.2.yaml'),
        policyYaml({ version: '2026.2', effective: '2026-04-01T00:00:00Z', events: { uploadPoe: { roles: ['incentivesAdmin', 'globalAdmin', 'billingAdmin'] } } }),
      );
      const clock = { now: () => t?.clock.now() ?? new Date(TEST_START) };
      registry = await createPolicyRegistry({ path: dir, clock });
      t = await createTestApp({ database: db, policies: registry });
      h = httpHelpers(t);
    });
    afterEach(() => {
      registry.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const uploadAs = async (id: string, caller: typeof BILLING) => {
      let req = h.api().post(`/v1/claims/${id}/poe`).set('Authorization', await t.bearer(caller));
      for (const [key, value] of Object.entries(POE_FIELDS)) req = req.field(key, value);
      return req.attach('file', pdfBytes(), 'sow.pdf');
    };

    it('a claim on the version that came into effect after the app was built takes an upload that version allows', async () => {
      const pinnedToFirst = await h.submittedClaim();
      await t.advance('2026-04-02T17:00:00Z');
      const pinnedToSecond = await h.submittedClaim();
      expect((await t.store.getClaim(pinnedToSecond))!.policy.version).toBe('2026.2');

      const allowed = await uploadAs(pinnedToSecond, BILLING);
      expect(allowed.status, JSON.stringify(allowed.body)).toBe(201);
      const refused = await uploadAs(pinnedToFirst, BILLING);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('forbiddenRole');
    });
  });
});
