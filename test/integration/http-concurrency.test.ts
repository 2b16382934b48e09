import { afterEach, describe, expect, it } from 'vitest';
import type { IdempotencyStore } from '../../src/idempotency/idempotency-store';
import { claimFields } from '../support/factories';
import { DATABASES, useDatabase } from '../support/databases';
import { httpHelpers, pdfBytes, POE_FIELDS } from '../support/http-requests';
import { createTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

describe.each(DATABASES)('versions and idempotency over HTTP ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  const start = async (options: TestAppOptions = {}) => {
    t = await createTestApp({ database: db, ...options });
    h = httpHelpers(t);
  };
  afterEach(() => t.close());

  describe('ETag and If-Match', () => {
    it('every write answers the claim version as its ETag, and a read answers the same', async () => {
      await start();
      const partner = await h.auth('partner');
      const created = await h.api().post('/v1/claims').set('Authorization', partner).send(claimFields());
      expect(created.headers.etag).toBe('"1"');
      const id = created.body.id as string;
      const uploaded = await h.uploadPoe(id);
      expect(uploaded.headers.etag).toBe('"2"');
      const patched = await h.api().patch(`/v1/claims/${id}`).set('Authorization', partner).set('If-Match', '"2"').send({ name: 'Rollout' });
      expect([patched.status, patched.headers.etag, patched.body.version]).toEqual([200, '"3"', 3]);
      const commented = await h.api().post(`/v1/claims/${id}/comments`).set('Authorization', partner).send({ text: 'Ready.' });
      expect([commented.status, commented.headers.etag]).toEqual([201, '"4"']);
      const submitted = await h.api().post(`/v1/claims/${id}/actions/submit`).set('Authorization', partner).set('If-Match', '"4"').send({});
      expect([submitted.status, submitted.headers.etag]).toEqual([200, '"5"']);
      // A read's ETag is the version and a digest of what it shows (http-claim-etag.test.ts).
      const read = await h.getClaim(id, 'partner');
      expect([String(read.headers.etag).split('-')[0], read.body.version]).toEqual(['"5', 5]);
      const notModified = await h.api().get(`/v1/claims/${id}`).set('Authorization', partner).set('If-None-Match', read.headers.etag as string);
      expect(notModified.status).toBe(304);
    });

    it('PATCH and actions without If-Match are 428 and change nothing', async () => {
      await start();
      const { id } = await h.createClaim();
      const partner = await h.auth('partner');
      const patch = await h.api().patch(`/v1/claims/${id}`).set('Authorization', partner).send({ name: 'Rollout' });
      expect(patch.status).toBe(428);
      expect(patch.body).toMatchObject({ status: 428, code: 'ifMatchRequired' });
      const action = await h.api().post(`/v1/claims/${id}/actions/withdraw`).set('Authorization', partner).send({});
      expect(action.status).toBe(428);
      expect(action.body.code).toBe('ifMatchRequired');
      expect((await h.getClaim(id)).body).toMatchObject({ version: 1, status: 'editing' });
    });

    it('If-Match naming an older version, or a weak tag, is 412; * and a list holding the current version pass', async () => {
      await start();
      const { id } = await h.createClaim();
      const partner = await h.auth('partner');
      const patch = (ifMatch: string, name: string) =>
        h.api().patch(`/v1/claims/${id}`).set('Authorization', partner).set('If-Match', ifMatch).send({ name });
      expect((await patch('"1"', 'First')).status).toBe(200);
      const stale = await patch('"1"', 'Second');
      expect(stale.status).toBe(412);
      expect(stale.body).toMatchObject({ code: 'staleVersion', details: { currentVersion: 2 } });
      expect((await patch('W/"2"', 'Weak')).status).toBe(412);
      const action = await h.api().post(`/v1/claims/${id}/actions/withdraw`).set('Authorization', partner).set('If-Match', '"1"').send({});
      expect(action.status).toBe(412);
      expect((await h.getClaim(id)).body).toMatchObject({ version: 2, status: 'editing', fields: { name: 'First' } });
      expect((await patch('"7", "2"', 'Listed')).status).toBe(200);
      expect((await patch('*', 'Any')).status).toBe(200);
      expect((await patch('2', 'Unquoted')).body).toMatchObject({ status: 400, code: 'invalidIfMatch' });
    });

    it('two writes racing with the same If-Match: one wins, the other is 412', async () => {
      await start();
      const { id } = await h.createClaim();
      const partner = await h.auth('partner');
      const results = await Promise.all(
        ['Alpha', 'Beta', 'Gamma'].map((name) =>
          h.api().patch(`/v1/claims/${id}`).set('Authorization', partner).set('If-Match', '"1"').send({ name }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412]);
      const winner = results.find((r) => r.status === 200)!;
      expect((await h.getClaim(id)).body).toMatchObject({ version: 2, fields: { name: winner.body.fields.name } });
    });
  });

  describe('Idempotency-Key', () => {
    it('a retried create replays the first response and creates one claim', async () => {
      await start();
      const partner = await h.auth('partner');
      const send = () => h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'create-1').send(claimFields());
      const first = await send();
      const retry = await send();
      expect(first.status).toBe(201);
      expect(first.headers['idempotency-replayed']).toBeUndefined();
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotency-replayed']).toBe('true');
      expect(retry.body).toEqual(first.body);
      expect([retry.headers.etag, retry.headers.location]).toEqual([first.headers.etag, first.headers.location]);
      expect(await t.store.listClaims({ limit: 10 })).toHaveLength(1);
    });

    it('the same key with a different body is 422 and does nothing', async () => {
      await start();
      const partner = await h.auth('partner');
      await h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'k').send(claimFields());
      const other = await h.api()
        .post('/v1/claims')
        .set('Authorization', partner)
        .set('Idempotency-Key', 'k')
        .send(claimFields({ activity: 'usage' }));
      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ code: 'idempotencyKeyReused' });
      expect(await t.store.listClaims({ limit: 10 })).toHaveLength(1);
    });

    it('a key whose first request is still running is 409', async () => {
      let release!: () => void;
      let begun!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const started = new Promise<void>((resolve) => (begun = resolve));
      // Holds the first request once it has claimed the key (SQL stores keep the answer with the change, so holding `complete` would not do).
      const holdAfterClaim = (store: IdempotencyStore): IdempotencyStore => ({
        async begin(...args) {
          const result = await store.begin(...args);
          if (result.state === 'new') {
            begun();
            await gate;
          }
          return result;
        },
        complete: (...args) => store.complete(...args),
        abandon: (...args) => store.abandon(...args),
        purge: (...args) => store.purge(...args),
      });
      await start({ wrapIdempotency: holdAfterClaim });
      const partner = await h.auth('partner');
      const send = () => h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'slow').send(claimFields());
      const first = send().then((res) => res);
      await started;
      const second = await send();
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('idempotencyKeyInFlight');
      release();
      expect((await first).status).toBe(201);
      const third = await send();
      expect([third.status, third.headers['idempotency-replayed']]).toEqual([201, 'true']);
    });

    it('keys are scoped per caller: the same key from two callers runs twice', async () => {
      await start();
      const send = async (caller: 'partner' | 'partnerAdmin') =>
        h.api().post('/v1/claims').set('Authorization', await h.auth(caller)).set('Idempotency-Key', 'shared').send(claimFields());
      const mine = await send('partner');
      const theirs = await send('partnerAdmin');
      expect([mine.status, theirs.status]).toEqual([201, 201]);
      expect(theirs.headers['idempotency-replayed']).toBeUndefined();
      expect(theirs.body.id).not.toBe(mine.body.id);
      expect(await t.store.listClaims({ limit: 10 })).toHaveLength(2);
    });

    it('a replayed action answers the first response although the claim has moved on since', async () => {
      await start();
      const id = await h.submittedClaim();
      const reviewer = await h.auth('reviewer');
      const etag = (await h.getClaim(id)).headers.etag as string;
      const send = () =>
        h.api().post(`/v1/claims/${id}/actions/startReview`).set('Authorization', reviewer).set('If-Match', etag).set('Idempotency-Key', 'review').send({});
      const first = await send();
      await h.actOk(id, 'requestInfo', 'reviewer', { deficiencies: ['missingOrOldDates'], comment: 'Dates?' });
      const retry = await send();
      expect(first.status).toBe(200);
      expect([retry.status, retry.headers['idempotency-replayed']]).toEqual([200, 'true']);
      expect(retry.body).toEqual(first.body);
      expect((await h.getClaim(id)).body.status).toBe('partnerActionRequired');
    });

    it('a fault (5xx) releases the key: the retry runs', async () => {
      await start();
      const partner = await h.auth('partner');
      const create = t.service.create;
      t.service.create = async () => {
        t.service.create = create;
        throw new Error('database went away');
      };
      const send = () => h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'flaky').send(claimFields());
      const failed = await send();
      expect(failed.status).toBe(500);
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotency-replayed']).toBeUndefined();
      expect(await t.store.listClaims({ limit: 10 })).toHaveLength(1);
    });

    it('a request turned away before it ran (428, 412, 400) releases its key: the corrected retry runs', async () => {
      await start();
      const id = await h.submittedClaim();
      const reviewer = await h.auth('reviewer');
      const send = (ifMatch?: string) => {
        const req = h.api().post(`/v1/claims/${id}/actions/startReview`).set('Authorization', reviewer).set('Idempotency-Key', 'fix-me');
        return (ifMatch ? req.set('If-Match', ifMatch) : req).send({});
      };
      expect((await send()).status).toBe(428);
      expect((await send('"1"')).status).toBe(412);
      const etag = (await h.getClaim(id)).headers.etag as string;
      const ran = await send(etag);
      expect([ran.status, ran.headers['idempotency-replayed']]).toEqual([200, undefined]);
      const replayed = await send(etag);
      expect([replayed.status, replayed.headers['idempotency-replayed']]).toEqual([200, 'true']);

      const partner = await h.auth('partner');
      const invalid = await h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'typo').send({ ...claimFields(), mpnId: 'x' });
      expect(invalid.status).toBe(400);
      const fixed = await h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'typo').send(claimFields());
      expect(fixed.status).toBe(201);
    });

    it('a refusal by the domain is kept like a success: the retry replays it', async () => {
      await start();
      const { id, etag } = await h.createClaim();
      const send = async () =>
        h.api().post(`/v1/claims/${id}/actions/submit`).set('Authorization', await h.auth('partner')).set('If-Match', etag).set('Idempotency-Key', 'early').send({});
      const first = await send();
      expect([first.status, first.body.code]).toEqual([409, 'requirementsNotMet']);
      const retry = await send();
      expect([retry.status, retry.headers['idempotency-replayed']]).toEqual([409, 'true']);
      expect(retry.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('a retried upload replays although its multipart boundary differs; the file is recorded once', async () => {
      await start();
      const { id } = await h.createClaim();
      const partner = await h.auth('partner');
      const send = () => {
        let req = h.api().post(`/v1/claims/${id}/poe`).set('Authorization', partner).set('Idempotency-Key', 'upload');
        for (const [k, v] of Object.entries(POE_FIELDS)) req = req.field(k, v);
        return req.attach('file', pdfBytes(4096), 'sow.pdf');
      };
      const first = await send();
      const retry = await send();
      expect(first.status).toBe(201);
      expect([retry.status, retry.headers['idempotency-replayed']]).toEqual([201, 'true']);
      expect(retry.body).toEqual(first.body);
      expect((await h.getClaim(id)).body.poe).toHaveLength(1);
      let other = h.api().post(`/v1/claims/${id}/poe`).set('Authorization', partner).set('Idempotency-Key', 'upload');
      for (const [k, v] of Object.entries(POE_FIELDS)) other = other.field(k, v);
      const different = await other.attach('file', pdfBytes(4097), 'sow.pdf');
      expect(different.status).toBe(422);
    });

    it('an invalid key is a 400', async () => {
      await start();
      const res = await h.api()
        .post('/v1/claims')
        .set('Authorization', await h.auth('partner'))
        .set('Idempotency-Key', 'x'.repeat(256))
        .send(claimFields());
      expect(res.body).toMatchObject({ status: 400, code: 'invalidIdempotencyKey' });
    });
  });
});
