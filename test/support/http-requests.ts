/** Callers and request helpers for the HTTP integration tests: who is who, and the usual steps of a claim. */
import request from 'supertest';
import { expect } from 'vitest';
import type { ClaimFields } from '../../src/domain/claim-types';
import { claimFields } from './claim-factory';
import type { TestApp, TokenClaims } from './test-app';

export const PARTNER_ID = '4512345';
export const OTHER_PARTNER_ID = '4599999';
export const TENANT_ID = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';
export const OTHER_TENANT_ID = '0b7e9c2a-3d4f-4e5a-8b6c-7d8e9f0a1b2c';

/** The callers the tests use, by name. */
export const CALLERS = {
  partner: { role: 'incentivesAdmin', partnerId: PARTNER_ID, id: 'li@fabrikam.com' },
  partnerAdmin: { role: 'globalAdmin', partnerId: PARTNER_ID, id: 'admin@fabrikam.com' },
  otherPartner: { role: 'incentivesAdmin', partnerId: OTHER_PARTNER_ID, id: 'someone@northwind.com' },
  reviewer: { role: 'reviewer', id: 'rev-1' },
  customer: { role: 'customer', tenantId: TENANT_ID, id: 'ana@contoso.com' },
  otherCustomer: { role: 'customer', tenantId: OTHER_TENANT_ID, id: 'bob@tailspin.com' },
  programManager: { role: 'programManager', id: 'pm-1' },
} as const satisfies Record<string, TokenClaims>;
export type CallerName = keyof typeof CALLERS;

/** The uploadPoe form fields of a signed, dated statement of work covering Teams. */
export const POE_FIELDS = { customerSigned: 'true', signedOn: '2026-02-20', products: 'teams', describesWork: 'true' };

/** Bytes that sniff as a PDF, `size` long. */
export function pdfBytes(size = 2048): Buffer {
  const header = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  const body = Buffer.alloc(Math.max(0, size - header.length), 0x20);
  return Buffer.concat([header, body]).subarray(0, size);
}

/** Request helpers bound to one test app. */
export function httpHelpers(t: TestApp) {
  const auth = (caller: CallerName | TokenClaims) => t.bearer(typeof caller === 'string' ? CALLERS[caller] : caller);
  const api = () => request(t.app);

  /** Creates a claim as `caller` (default the partner); returns its id and ETag. */
  async function createClaim(overrides: Partial<ClaimFields> = {}, caller: CallerName = 'partner') {
    const res = await api().post('/v1/claims').set('Authorization', await auth(caller)).send(claimFields(overrides));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id as string, etag: res.headers.etag as string, body: res.body };
  }

  async function getClaim(id: string, caller: CallerName = 'reviewer') {
    const res = await api().get(`/v1/claims/${id}`).set('Authorization', await auth(caller));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res;
  }

  /** Sends an action with the claim's current ETag; returns the response (not asserted). */
  async function act(id: string, event: string, caller: CallerName, body: object = {}) {
    const current = await getClaim(id);
    return api()
      .post(`/v1/claims/${id}/actions/${event}`)
      .set('Authorization', await auth(caller))
      .set('If-Match', current.headers.etag as string)
      .send(body);
  }

  /** Like act, and expects 200. */
  async function actOk(id: string, event: string, caller: CallerName, body: object = {}) {
    const res = await act(id, event, caller, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res;
  }

  async function uploadPoe(id: string, caller: CallerName = 'partner', fields: Record<string, string> = POE_FIELDS, file = pdfBytes(), name = 'sow.pdf') {
    let req = api().post(`/v1/claims/${id}/poe`).set('Authorization', await auth(caller));
    for (const [key, value] of Object.entries(fields)) req = req.field(key, value);
    return req.attach('file', file, { filename: name, contentType: 'application/pdf' });
  }

  /** A claim created, documented and submitted by the partner. */
  async function submittedClaim(overrides: Partial<ClaimFields> = {}) {
    const { id } = await createClaim(overrides);
    const upload = await uploadPoe(id);
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    await actOk(id, 'submit', 'partner');
    return id;
  }

  /** A submitted claim taken into review and rejected by the reviewer. */
  async function rejectedClaim(overrides: Partial<ClaimFields> = {}) {
    const id = await submittedClaim(overrides);
    await actOk(id, 'startReview', 'reviewer');
    await actOk(id, 'reject', 'reviewer', { reason: 'insufficientPoe', comment: 'The SOW does not name the customer.' });
    return id;
  }

  return { api, auth, createClaim, getClaim, act, actOk, uploadPoe, submittedClaim, rejectedClaim };
}
