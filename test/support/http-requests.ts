/**
 * Callers and request helpers for the HTTP integration tests: who is who, and the usual steps of
 * a claim. Every answer is checked against /openapi.json (documented-requests.ts).
 */
import { afterEach, beforeEach, expect } from 'vitest';
import type { ClaimFields } from '../../src/domain/claim-types';
import { documentedRequest } from './documented-requests';
import { ACTORS, claimFields, dueAtOf, PATHS, pdfBytes, poeFormFields, type ClaimStatus } from './factories';
import { createTestApp, type TestApp, type TestAppOptions, type TokenClaims } from './test-app';

export { OTHER_PARTNER_ID, OTHER_TENANT_ID, PARTNER_ID, pdfBytes, TENANT_ID } from './factories';

/** The callers the tests use, by name: the factories' actors that hold a token (not `system`). */
const { system: _system, ...callers } = ACTORS;
export const CALLERS = callers satisfies Record<string, TokenClaims>;
export type CallerName = keyof typeof CALLERS;

/** The uploadPoe form fields of a signed, dated statement of work covering Teams. */
export const POE_FIELDS = poeFormFields();

/** Request helpers bound to one test app. */
export function httpHelpers(t: TestApp) {
  const auth = (caller: CallerName | TokenClaims) => t.bearer(typeof caller === 'string' ? CALLERS[caller] : caller);
  const api = () => documentedRequest(t.app);

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

  /**
   * A claim created by the partner and brought to `status` over HTTP (the factories' PATHS).
   * `partner` acts in the partner's steps (say `otherPartner`, with fields of its partner ID);
   * `poeFields` are the uploaded PoE's form fields.
   */
  async function claimIn(
    status: ClaimStatus,
    overrides: Partial<ClaimFields> = {},
    options: { partner?: CallerName; poeFields?: Record<string, string> } = {},
  ) {
    const as = (name: string) => (name === 'partner' ? (options.partner ?? 'partner') : name) as CallerName;
    const { id } = await createClaim(overrides, as('partner'));
    for (const step of PATHS[status]) {
      if ('deadline' in step) {
        const claim = await getClaim(id);
        await t.advance(dueAtOf(claim.body, step.deadline));
      } else if (step.event === 'uploadPoe') {
        const upload = await uploadPoe(id, as(step.by), options.poeFields ?? POE_FIELDS);
        expect(upload.status, JSON.stringify(upload.body)).toBe(201);
      } else {
        await actOk(id, step.event, as(step.by), step.payload);
      }
    }
    const res = await getClaim(id);
    expect([res.body.status, res.body.substatus].filter(Boolean).join('.')).toBe(status);
    return id;
  }

  /** A claim created, documented and submitted by the partner. */
  const submittedClaim = (overrides: Partial<ClaimFields> = {}) => claimIn('submitted', overrides);

  /** A submitted claim taken into review and rejected by the reviewer (insufficientPoe). */
  const rejectedClaim = (overrides: Partial<ClaimFields> = {}) => claimIn('rejected', overrides);

  return { api, auth, createClaim, getClaim, act, actOk, uploadPoe, submittedClaim, rejectedClaim, claimIn };
}

export type HttpHelpers = ReturnType<typeof httpHelpers>;

/**
 * A fresh test app and its helpers for each test of the enclosing describe (or file), closed
 * after it: `let t, h; useHttpApp({ database: db }, (app) => ({ t, h } = app));`.
 */
export function useHttpApp(options: TestAppOptions, set: (app: { t: TestApp; h: HttpHelpers }) => void): void {
  let current: TestApp | undefined;
  beforeEach(async () => {
    current = await createTestApp(options);
    set({ t: current, h: httpHelpers(current) });
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
}
