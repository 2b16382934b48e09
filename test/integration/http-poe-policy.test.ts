import { describe, expect, it, onTestFinished } from 'vitest';
import { compilePolicy } from '../../src/policies/compiled-policy';
import { staticPolicySource } from '../../src/policies/policy-registry';
import { bundledPolicy, withPolicy } from '../support/bundled-policy';
import { httpHelpers, type HttpHelpers, useHttpApp, pdfBytes, POE_FIELDS } from '../support/http-requests';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/test-app';

let t: TestApp;
let h: HttpHelpers;

/** A claim in editing with one uploaded PoE; returns the claim id and the PoE id. */
async function claimWithPoe() {
  const { id } = await h.createClaim();
  const upload = await h.uploadPoe(id);
  expect(upload.status, JSON.stringify(upload.body)).toBe(201);
  return { id, poeId: upload.body.id as string };
}

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  useHttpApp({ database: db }, (app) => ({ t, h } = app));

  describe('removing a PoE through POST /v1/claims/{id}/actions/removePoe', () => {
    it('the partner removes a wrong PoE: it leaves the claim, the deficiencies follow, and its download is 404', async () => {
      const { id, poeId } = await claimWithPoe();
      expect((await h.getClaim(id)).body.deficiencies).toEqual([]);

      const res = await h.actOk(id, 'removePoe', 'partner', { poeId, comment: 'Uploaded the wrong SOW' });
      expect(res.body.poe).toEqual([]);
      expect(res.body.status).toBe('editing');
      expect(res.body.deficiencies.map((d: { code: string }) => d.code)).toEqual(['missingAllPoe']);

      const download = await h.api().get(`/v1/claims/${id}/poe/${poeId}`).set('Authorization', await h.auth('partner'));
      expect(download.status).toBe(404);
      const history = await h.api().get(`/v1/claims/${id}/history`).set('Authorization', await h.auth('reviewer'));
      expect(history.body.items ?? history.body).toEqual(
        expect.arrayContaining([expect.objectContaining({ event: 'removePoe', payload: { poeId, comment: 'Uploaded the wrong SOW' } })]),
      );
    });

    it('after the only PoE is removed, submit is refused with requirementsNotMet (409)', async () => {
      const { id, poeId } = await claimWithPoe();
      await h.actOk(id, 'removePoe', 'partner', { poeId });
      const submit = await h.act(id, 'submit', 'partner');
      expect(submit.status).toBe(409);
      expect(submit.body).toMatchObject({ code: 'requirementsNotMet' });
      expect(submit.body.detail).toContain('proof-of-execution');
    });

    it('an unknown poeId is 400 unknownPoe at $.poeId, and the claim is unchanged', async () => {
      const { id } = await claimWithPoe();
      const before = (await h.getClaim(id)).body;
      const res = await h.act(id, 'removePoe', 'partner', { poeId: 'no-such-poe' });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'unknownPoe', errors: [{ path: '$.poeId' }] });
      expect((await h.getClaim(id)).body).toEqual(before);
    });

    it('a reviewer may not remove a PoE (403 forbiddenRole); a body without poeId is 400 at $.poeId', async () => {
      const { id, poeId } = await claimWithPoe();
      const reviewer = await h.act(id, 'removePoe', 'reviewer', { poeId });
      expect(reviewer.status).toBe(403);
      expect(reviewer.body.code).toBe('forbiddenRole');
      const missing = await h.act(id, 'removePoe', 'partner', { comment: 'which one?' });
      expect(missing.status).toBe(400);
      expect(missing.body.errors[0].path).toBe('$.poeId');
    });

    it('removePoe is refused under review (409 invalidState)', async () => {
      const id = await h.submittedClaim();
      const poeId = (await h.getClaim(id)).body.poe[0].id as string;
      await h.actOk(id, 'startReview', 'reviewer');
      const res = await h.act(id, 'removePoe', 'partner', { poeId });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('invalidState');
    });
  });

  describe('PoE rules of the bundled policy on upload', () => {
    it('a PoE signed after today (in the policy time zone) is 400 poeSignedInFuture at $.signedOn', async () => {
      // The test clock is 2026-03-02 09:00 in Los Angeles.
      const { id } = await h.createClaim();
      const res = await h.uploadPoe(id, 'partner', { ...POE_FIELDS, signedOn: '2026-03-03' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'poeSignedInFuture', errors: [{ path: '$.signedOn' }] });
      expect((await h.uploadPoe(id, 'partner', { ...POE_FIELDS, signedOn: '2026-03-02' })).status).toBe(201);
    });

    it('the 26th document is 409 poeLimitReached (limits.poeDocumentsPerClaim 25); removing one makes room', async () => {
      const { id } = await h.createClaim();
      let last = '';
      for (let i = 0; i < 25; i++) {
        const res = await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(600 + i));
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        last = res.body.id as string;
      }
      const over = await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(700));
      expect(over.status).toBe(409);
      expect(over.body).toMatchObject({ code: 'poeLimitReached', details: { limit: 25, documents: 25 } });
      expect((await h.getClaim(id)).body.poe).toHaveLength(25);

      await h.actOk(id, 'removePoe', 'partner', { poeId: last });
      expect((await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(700))).status).toBe(201);
    });
  });

  describe('poeBytesPerClaim on upload', () => {
    it("an upload that would take the claim's PoE files over poeBytesPerClaim is 409 poeBytesLimitReached", async () => {
      await t.close();
      const policy = withPolicy(await bundledPolicy(), (p) => void (p.limits = { poeBytesPerClaim: 5000 }));
      t = await createTestApp({ database: db, policies: staticPolicySource(compilePolicy(policy)) });
      onTestFinished(() => t.close());
      h = httpHelpers(t);
      const { id } = await h.createClaim();
      expect((await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(3000))).status).toBe(201);
      const over = await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(2001));
      expect(over.status).toBe(409);
      expect(over.headers['content-type']).toContain('application/problem+json');
      expect(over.body).toMatchObject({ code: 'poeBytesLimitReached', details: { limit: 5000, bytes: 3000, size: 2001 } });
      expect((await h.uploadPoe(id, 'partner', POE_FIELDS, pdfBytes(2000))).status).toBe(201);
    });
  });
});
