import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimFields } from '../../src/domain/claim-types';
import { claimFields, poeFormFields, poePayload } from '../support/factories';
import { DATABASES, useDatabase } from '../support/databases';
import { CALLERS, httpHelpers, type HttpHelpers, useHttpApp, OTHER_PARTNER_ID, OTHER_TENANT_ID, PARTNER_ID, TENANT_ID } from '../support/http-requests';
import { createTestApp, type TestApp } from '../support/test-app';

const BIZAPPS = [{ line: 'businessApplications' as const, product: 'dynamics365Sales' as const, subscriptionId: 'sub-7731' }];
const BIZAPPS_POE = poeFormFields({ products: 'dynamics365Sales' });

describe.each(DATABASES)('claims over HTTP ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: HttpHelpers;
  useHttpApp({ database: db }, (app) => ({ t, h } = app));

  it('takes a claim from creation to assessment: create, PoE, submit, review, approve, consent window', async () => {
    const created = await h.api()
      .post('/v1/claims')
      .set('Authorization', await h.auth('partner'))
      .send(claimFields({ activity: 'deployment' }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.location).toBe(`/v1/claims/${id}`);
    expect(created.headers.etag).toBe('"1"');
    expect(created.body).toMatchObject({ status: 'editing', version: 1, deficiencies: [{ code: 'missingAllPoe', description: expect.any(String) }], poe: [] });

    expect((await h.uploadPoe(id)).status).toBe(201);
    expect((await h.actOk(id, 'submit', 'partner')).body).toMatchObject({ status: 'submitted' });
    await t.advance('2026-03-03T17:00:00Z');
    await h.actOk(id, 'startReview', 'reviewer');
    const approved = await h.actOk(id, 'approve', 'reviewer', { comment: 'PoE is complete.' });
    expect(approved.body).toMatchObject({ status: 'approved', substatus: 'consentPending' });
    const consent = approved.body.deadlines.find((d: { name: string }) => d.name === 'consentWindow');
    expect(consent).toMatchObject({ due: '2026-03-10', dueAt: '2026-03-11T07:00:00.000Z', status: 'running' });

    await t.advance('2026-03-11T07:00:00.000Z');
    const assessed = await h.getClaim(id, 'partner');
    expect(assessed.body).toMatchObject({ status: 'approved', substatus: 'sentForAssessment' });
    expect(assessed.body.assessment.programs).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'OSU', eligible: true }), expect.objectContaining({ code: 'OSA', eligible: false })]),
    );

    const outbox = await h.api().get(`/v1/outbox?claimId=${id}`).set('Authorization', await h.auth('reviewer'));
    expect(outbox.status).toBe(200);
    expect(outbox.body.items.map((m: { type: string }) => m.type)).toEqual(['claim.approved', 'claim.sentForAssessment']);
    expect(outbox.body.items[0]).toMatchObject({ audience: 'customer', status: 'pending', payload: { claimId: id, tenantId: TENANT_ID } });
    const pending = await h.api().get('/v1/outbox?status=delivered').set('Authorization', await h.auth('programManager'));
    expect(pending.body.items).toEqual([]);
  });

  it('PATCH replaces editable fields and refuses one the status does not allow, with its path', async () => {
    const { id, etag } = await h.createClaim();
    const patched = await h.api()
      .patch(`/v1/claims/${id}`)
      .set('Authorization', await h.auth('partner'))
      .set('If-Match', etag)
      .send({ name: 'Contoso Teams rollout', products: [{ line: 'microsoft365', workload: 'exchange' }] });
    expect(patched.status).toBe(200);
    expect(patched.headers.etag).toBe('"2"');
    expect(patched.body.fields).toMatchObject({ name: 'Contoso Teams rollout', products: [{ line: 'microsoft365', workload: 'exchange' }] });

    await h.uploadPoe(id, 'partner', { ...{ customerSigned: 'true', products: 'exchange', describesWork: 'true' } });
    await h.actOk(id, 'submit', 'partner');
    const current = await h.getClaim(id);
    const refused = await h.api()
      .patch(`/v1/claims/${id}`)
      .set('Authorization', await h.auth('partner'))
      .set('If-Match', current.headers.etag as string)
      .send({ activity: 'usage' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'fieldNotEditable' });
    expect(refused.body.detail).toMatch(/^activity cannot be edited while the claim is submitted/);
    expect((await h.getClaim(id)).body.version).toBe(current.body.version);
  });

  it('a request for information, a comment and a resubmission show up in the comments and the history', async () => {
    const id = await h.submittedClaim();
    await h.actOk(id, 'startReview', 'reviewer');
    await h.actOk(id, 'requestInfo', 'reviewer', { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page.' });
    const posted = await h.api()
      .post(`/v1/claims/${id}/comments`)
      .set('Authorization', await h.auth('partner'))
      .send({ text: 'Signed page uploaded.' });
    expect(posted.status).toBe(201);
    expect(posted.headers.etag).toMatch(/^"\d+"$/);
    expect(posted.body).toMatchObject({ event: 'comment', text: 'Signed page uploaded.', author: { role: 'incentivesAdmin', id: 'li@fabrikam.com' } });
    await h.actOk(id, 'resubmit', 'partner');

    const comments = await h.api().get(`/v1/claims/${id}/comments`).set('Authorization', await h.auth('customer'));
    expect(comments.status).toBe(200);
    expect(comments.body.items.map((c: { event: string; text: string }) => [c.event, c.text])).toEqual([
      ['requestInfo', 'Please add the signature page.'],
      ['comment', 'Signed page uploaded.'],
    ]);

    const history = await h.api().get(`/v1/claims/${id}/history`).set('Authorization', await h.auth('partner'));
    expect(history.status).toBe(200);
    const entries = history.body.items as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e.event, e.from, e.to])).toEqual([
      ['create', null, 'editing'],
      ['uploadPoe', 'editing', 'editing'],
      ['submit', 'editing', 'submitted'],
      ['startReview', 'submitted', 'underReview'],
      ['requestInfo', 'underReview', 'partnerActionRequired'],
      ['comment', 'partnerActionRequired', 'partnerActionRequired'],
      ['resubmit', 'partnerActionRequired', 'underReview'],
    ]);
    expect(entries[4]).toMatchObject({
      seq: 5,
      at: '2026-03-02T17:00:00.000Z',
      actor: { role: 'reviewer', id: 'rev-1' },
      payload: { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page.' },
      policy: { id: 'cpor', version: '2026.1' },
    });
    for (const [i, entry] of entries.entries()) {
      expect(entry.prevHash).toBe(i === 0 ? null : entries[i - 1]!.hash);
    }
  });

  it('a deadline that falls due appears in the history as a system entry and flags the claim overdue', async () => {
    const id = await h.submittedClaim();
    await t.advance('2026-03-10T07:00:00.000Z');
    const history = await h.api().get(`/v1/claims/${id}/history`).set('Authorization', await h.auth('reviewer'));
    expect(history.body.items.at(-1)).toMatchObject({
      event: 'reviewStartDue',
      actor: { role: 'system' },
      from: 'submitted',
      to: 'submitted',
      at: '2026-03-10T07:00:00.000Z',
    });
    expect((await h.getClaim(id)).body.overdue).toEqual(['reviewStart']);
  });

  it('lists claims by status, overdue deadline, tenant and partner', async () => {
    const later = () => t.clock.set(new Date(t.clock.now().getTime() + 60_000));
    const plain = (await h.createClaim()).id;
    later();
    const otherTenant = (await h.createClaim({ customer: { tenantId: OTHER_TENANT_ID, domain: 'tailspin.com', name: 'Tailspin' } })).id;
    later();
    const submitted = await h.submittedClaim();
    later();
    const otherPartner = (await h.createClaim({ partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID }, 'otherPartner')).id;
    await t.advance('2026-03-10T07:00:00.000Z');
    const fresh = await h.submittedClaim();

    const list = async (query: string) => {
      const res = await h.api().get(`/v1/claims${query}`).set('Authorization', await h.auth('reviewer'));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (res.body.items as Array<{ id: string }>).map((c) => c.id);
    };
    expect(await list('')).toEqual([plain, otherTenant, submitted, otherPartner, fresh]);
    expect(await list('?status=submitted')).toEqual([submitted, fresh]);
    expect(await list('?overdue=reviewStart')).toEqual([submitted]);
    expect(await list('?status=submitted&overdue=reviewStart')).toEqual([submitted]);
    expect(await list(`?tenantId=${OTHER_TENANT_ID}`)).toEqual([otherTenant]);
    expect(await list(`?partnerId=${OTHER_PARTNER_ID}`)).toEqual([otherPartner]);
    expect(await list(`?partnerId=${PARTNER_ID}&status=editing`)).toEqual([plain, otherTenant]);
  });

  it('pages through claims with a keyset cursor: every claim once, in order, then no cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await h.createClaim()).id);
      if (i % 3 === 0) t.clock.set(new Date(t.clock.now().getTime() + 1000)); // some share a creation instant
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { items: Array<{ id: string }>; nextCursor: string | null } } = await h.api()
        .get(`/v1/claims?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        .set('Authorization', await h.auth('partner'));
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
      if (cursor !== null) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    const byCreation = [...(await t.store.listClaims({ limit: 100 }))].map((c) => c.id);
    expect(seen).toEqual(byCreation);
    expect([...seen].sort()).toEqual([...ids].sort());

    const defaultPage = await h.api().get('/v1/claims').set('Authorization', await h.auth('partner'));
    expect(defaultPage.body).toMatchObject({ nextCursor: null });
    expect(defaultPage.body.items).toHaveLength(7);
  });

  it('refuses a bad list query with the path of the parameter', async () => {
    const query = async (q: string) => (await h.api().get(`/v1/claims?${q}`).set('Authorization', await h.auth('reviewer'))).body;
    expect(await query('limit=0')).toMatchObject({ status: 400, code: 'invalidQuery', errors: [{ path: '$.limit' }] });
    expect(await query('limit=101')).toMatchObject({ status: 400, errors: [{ path: '$.limit' }] });
    expect(await query('limit=ten')).toMatchObject({ status: 400, errors: [{ path: '$.limit' }] });
    expect(await query('status=lost')).toMatchObject({ status: 400, errors: [{ path: '$.status' }] });
    expect(await query('overdue=someDeadline')).toMatchObject({ status: 400, errors: [{ path: '$.overdue' }] });
    expect(await query('tenantId=contoso')).toMatchObject({ status: 400, errors: [{ path: '$.tenantId' }] });
    expect(await query('cursor=not-a-cursor')).toMatchObject({ status: 400, code: 'invalidCursor', errors: [{ path: '$.cursor' }] });
    expect(await query('status=editing&status=submitted')).toMatchObject({ status: 400, errors: [{ path: '$.status' }] });
    expect(await query('sort=createdAt')).toMatchObject({ status: 400, errors: [{ path: '$.sort' }] });
  });
});

describe.each(DATABASES)('disputes over HTTP ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: HttpHelpers;
  useHttpApp({ database: db }, (app) => ({ t, h } = app));

  async function rejected(products: ClaimFields['products'], poe: Record<string, string>) {
    const { id } = await h.createClaim({ products });
    expect((await h.uploadPoe(id, 'partner', poe)).status).toBe(201);
    await h.actOk(id, 'submit', 'partner');
    await h.actOk(id, 'startReview', 'reviewer');
    await h.actOk(id, 'reject', 'reviewer', { reason: 'missingProducts', comment: 'The SOW does not cover the product.' });
    return id;
  }

  it('a Business Applications dispute carries MPN ID, program, claim ID, products with subscriptions, tenant and details', async () => {
    const id = await rejected(BIZAPPS, BIZAPPS_POE);
    await t.advance('2026-03-20T17:00:00Z');
    const disputed = await h.actOk(id, 'dispute', 'partner', { program: 'OSA', details: 'Page 3 of the SOW lists Dynamics 365 Sales.' });
    expect(disputed.body).toMatchObject({ status: 'disputed' });

    const res = await h.api().get(`/v1/claims/${id}/disputes`).set('Authorization', await h.auth('reviewer'));
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        program: 'OSA',
        details: 'Page 3 of the SOW lists Dynamics 365 Sales.',
        mpnId: PARTNER_ID,
        claimId: id,
        tenantId: TENANT_ID,
        products: BIZAPPS,
        raisedAt: '2026-03-20T17:00:00.000Z',
        raisedBy: CALLERS.partner.id,
        resolution: null,
      },
    ]);
  });

  it('a Microsoft 365 dispute carries the workloads; the reviewer resolves it back to consent', async () => {
    const workloads = [
      { line: 'microsoft365' as const, workload: 'teams' as const },
      { line: 'microsoft365' as const, workload: 'sharePoint' as const },
    ];
    const id = await rejected(workloads, { customerSigned: 'true', signedOn: '2026-02-20', products: 'teams,sharePoint', describesWork: 'true' });
    await h.actOk(id, 'dispute', 'partnerAdmin', { program: 'OSU', details: 'Both workloads are deployed.' });
    const resolved = await h.actOk(id, 'resolveDispute', 'reviewer', { outcome: 'approved', comment: 'Agreed on review.' });
    expect(resolved.body).toMatchObject({ status: 'approved', substatus: 'consentPending', reason: null });
    expect(resolved.body.disputes).toEqual([
      expect.objectContaining({
        program: 'OSU',
        products: workloads,
        tenantId: TENANT_ID,
        resolution: { outcome: 'approved', comment: 'Agreed on review.', at: '2026-03-02T17:00:00.000Z', by: 'rev-1' },
      }),
    ]);
  });

  it('a dispute is refused once the 30-day dispute window has passed', async () => {
    const id = await rejected(BIZAPPS, BIZAPPS_POE);
    // Rejected on 2 March (local): the window's last day is 1 April; it closes at 00:00 on 2 April in Los Angeles.
    await t.advance('2026-04-02T06:59:00.000Z');
    const inside = await h.getClaim(id);
    expect(inside.body.deadlines.find((d: { name: string }) => d.name === 'disputeWindow')).toMatchObject({ due: '2026-04-01', status: 'running' });
    await t.advance('2026-04-02T07:00:00.000Z');
    const late = await h.act(id, 'dispute', 'partner', { program: 'OSA', details: 'Too late?' });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'windowClosed' });
    expect((await h.getClaim(id)).body).toMatchObject({ status: 'rejected', disputes: [] });
  });

  it('a dispute needs the program and the details', async () => {
    const id = await rejected(BIZAPPS, BIZAPPS_POE);
    const res = await h.act(id, 'dispute', 'partner', { program: 'OSA' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalidPayload', errors: [{ path: '$.details' }] });
  });
});

describe('simulation over HTTP', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('runs a scenario under the policy in effect and answers the result', async () => {
    const h = httpHelpers(t);
    const scenario = {
      name: 'Partner never answers',
      claim: claimFields(),
      steps: [
        { at: '2026-03-02T17:00:00Z', by: 'incentivesAdmin', do: 'create' },
        {
          at: '2026-03-02T17:05:00Z',
          by: 'incentivesAdmin',
          do: 'uploadPoe',
          with: poePayload(),
        },
        { at: '2026-03-02T17:10:00Z', by: 'incentivesAdmin', do: 'submit' },
        { at: '2026-03-04T16:00:00Z', by: 'reviewer', do: 'startReview' },
        { at: '2026-03-05T16:00:00Z', by: 'reviewer', do: 'requestInfo', with: { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Signature?' } },
        { until: '2026-04-01T00:00:00Z' },
      ],
      expect: { status: 'rejected', reason: 'noPartnerResponse' },
    };
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('programManager')).send(scenario);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ passed: true, failures: [], final: { status: 'rejected', reason: 'noPartnerResponse' }, policy: { id: 'cpor' } });
    expect(await t.store.listClaims({ limit: 10 })).toEqual([]);

    const invalid = await h.api()
      .post('/v1/simulate')
      .set('Authorization', await h.auth('programManager'))
      .send({ ...scenario, steps: [{ at: 'yesterday', by: 'reviewer', do: 'create' }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].path).toMatch(/^\$\.steps\[0\]/);
    const withPolicy = await h.api()
      .post('/v1/simulate')
      .set('Authorization', await h.auth('programManager'))
      .send({ ...scenario, policy: '/etc/passwd' });
    expect(withPolicy.body).toMatchObject({ status: 400, code: 'policyNotSelectable', errors: [{ path: '$.policy' }] });
  });
});
