import { randomBytes } from 'node:crypto';
import type { Test } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/auth/mint-token';
import { claimFields } from '../support/factories';
import { CALLERS, httpHelpers, OTHER_PARTNER_ID, PARTNER_ID, pdfBytes, POE_FIELDS, TENANT_ID, type CallerName } from '../support/http-requests';
import { concretePath, registeredRoutes } from '../support/http-routes';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/test-app';

let t: TestApp;
let h: ReturnType<typeof httpHelpers>;
/** A submitted claim of PARTNER_ID on TENANT_ID, with one PoE file and one comment. */
let claimId: string;
let poeId: string;
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

/** The claim as stored now: refused requests must leave it exactly so. */
const snapshot = async () => ({ claim: await t.store.getClaim(claimId), history: await t.store.listHistory(claimId) });

interface Endpoint {
  name: string;
  /** Sends the request for claim `id` with an Authorization header and the claim's current ETag. */
  send(id: string, authorization: string, etag: string): Test;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'GET /v1/claims/{id}', send: (id, a) => h.api().get(`/v1/claims/${id}`).set('Authorization', a) },
  {
    name: 'PATCH /v1/claims/{id}',
    send: (id, a, etag) => h.api().patch(`/v1/claims/${id}`).set('Authorization', a).set('If-Match', etag).send({ mpnId: '4512399' }),
  },
  ...['submit', 'resubmit', 'withdraw', 'startReview', 'approve', 'denyConsent'].map((event) => ({
    name: `POST /v1/claims/{id}/actions/${event}`,
    send: (id: string, a: string, etag: string) =>
      h.api().post(`/v1/claims/${id}/actions/${event}`).set('Authorization', a).set('If-Match', etag).send({}),
  })),
  {
    name: 'POST /v1/claims/{id}/actions/reject',
    send: (id, a, etag) =>
      h.api().post(`/v1/claims/${id}/actions/reject`).set('Authorization', a).set('If-Match', etag).send({ reason: 'insufficientPoe' }),
  },
  {
    name: 'POST /v1/claims/{id}/poe',
    send: (id, a) => {
      let req = h.api().post(`/v1/claims/${id}/poe`).set('Authorization', a);
      for (const [k, v] of Object.entries(POE_FIELDS)) req = req.field(k, v);
      return req.attach('file', pdfBytes(), 'sow.pdf');
    },
  },
  { name: 'GET /v1/claims/{id}/poe/{poeId}', send: (id, a) => h.api().get(`/v1/claims/${id}/poe/${poeId}`).set('Authorization', a) },
  { name: 'GET /v1/claims/{id}/comments', send: (id, a) => h.api().get(`/v1/claims/${id}/comments`).set('Authorization', a) },
  {
    name: 'POST /v1/claims/{id}/comments',
    send: (id, a) => h.api().post(`/v1/claims/${id}/comments`).set('Authorization', a).send({ text: 'Is this mine?' }),
  },
  { name: 'GET /v1/claims/{id}/history', send: (id, a) => h.api().get(`/v1/claims/${id}/history`).set('Authorization', a) },
  { name: 'GET /v1/claims/{id}/disputes', send: (id, a) => h.api().get(`/v1/claims/${id}/disputes`).set('Authorization', a) },
];

const OUTSIDERS: CallerName[] = ['otherPartner', 'otherCustomer'];
const READERS: CallerName[] = ['partner', 'partnerAdmin', 'customer', 'reviewer', 'programManager'];
const READS = ENDPOINTS.filter((e) => e.name.startsWith('GET'));

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  beforeAll(async () => {
    t = await createTestApp({ database: db });
    h = httpHelpers(t);
    claimId = await h.submittedClaim();
    poeId = (await h.getClaim(claimId)).body.poe[0].id;
    await h.api().post(`/v1/claims/${claimId}/comments`).set('Authorization', await h.auth('reviewer')).send({ text: 'Looking at it.' });
  });
  afterAll(() => t.close());

  describe("another partner's or another tenant's claim", () => {
    const cases = OUTSIDERS.flatMap((caller) => ENDPOINTS.map((endpoint) => ({ caller, endpoint })));

    it.each(cases)('$caller: $endpoint.name is a 404 that reads exactly like a missing claim', async ({ caller, endpoint }) => {
      const before = await snapshot();
      const etag = (await h.getClaim(claimId)).headers.etag as string;
      const authorization = await h.auth(caller);
      const hidden = await endpoint.send(claimId, authorization, etag);
      const missing = await endpoint.send(MISSING_ID, authorization, etag);

      expect(hidden.status).toBe(404);
      expect(hidden.body.code).toBe('claimNotFound');
      expect(JSON.stringify(hidden.body).replaceAll(claimId, 'ID')).toBe(JSON.stringify(missing.body).replaceAll(MISSING_ID, 'ID'));
      expect(hidden.headers['content-type']).toBe(missing.headers['content-type']);
      expect(hidden.headers.etag).toBeUndefined();
      expect(await snapshot()).toEqual(before);
    });

    it.each(OUTSIDERS)('%s: listing leaves the claim out, and filtering for its owner gives an empty list', async (caller) => {
      const authorization = await h.auth(caller);
      const all = await h.api().get('/v1/claims').set('Authorization', authorization);
      expect(all.status).toBe(200);
      expect(all.body.items.map((c: { id: string }) => c.id)).not.toContain(claimId);
      for (const query of [`partnerId=${PARTNER_ID}`, `tenantId=${TENANT_ID}`, 'status=submitted']) {
        const filtered = await h.api().get(`/v1/claims?${query}`).set('Authorization', authorization);
        expect(filtered.status).toBe(200);
        expect(filtered.body).toEqual({ items: [], nextCursor: null });
      }
    });
  });

  describe('who may read the claim', () => {
    const cases = READERS.flatMap((caller) => READS.map((endpoint) => ({ caller, endpoint })));
    it.each(cases)('$caller: $endpoint.name answers 200', async ({ caller, endpoint }) => {
      const res = await endpoint.send(claimId, await h.auth(caller), '"0"');
      expect(res.status).toBe(200);
    });

    it.each(['partner', 'customer', 'reviewer', 'programManager'] as const)('%s sees the claim in its list', async (caller) => {
      const res = await h.api().get('/v1/claims').set('Authorization', await h.auth(caller));
      expect(res.body.items.map((c: { id: string }) => c.id)).toContain(claimId);
    });
  });

  describe('who may change the claim (roles from the policy)', () => {
    const refusals: Array<{ caller: CallerName; endpoint: string; status: number; code: string }> = [
      ...['PATCH /v1/claims/{id}', 'POST /v1/claims/{id}/actions/withdraw', 'POST /v1/claims/{id}/actions/startReview', 'POST /v1/claims/{id}/comments', 'POST /v1/claims/{id}/poe'].map(
        (endpoint) => ({ caller: 'programManager' as const, endpoint, status: 403, code: 'forbiddenRole' }),
      ),
      ...['PATCH /v1/claims/{id}', 'POST /v1/claims/{id}/actions/withdraw', 'POST /v1/claims/{id}/comments', 'POST /v1/claims/{id}/poe'].map(
        (endpoint) => ({ caller: 'customer' as const, endpoint, status: 403, code: 'forbiddenRole' }),
      ),
      { caller: 'customer', endpoint: 'POST /v1/claims/{id}/actions/denyConsent', status: 409, code: 'invalidState' },
      { caller: 'reviewer', endpoint: 'PATCH /v1/claims/{id}', status: 403, code: 'forbiddenRole' },
      { caller: 'reviewer', endpoint: 'POST /v1/claims/{id}/poe', status: 403, code: 'forbiddenRole' },
      { caller: 'reviewer', endpoint: 'POST /v1/claims/{id}/actions/withdraw', status: 403, code: 'forbiddenRole' },
      { caller: 'partner', endpoint: 'POST /v1/claims/{id}/actions/startReview', status: 403, code: 'forbiddenRole' },
    ];
    it.each(refusals)('$caller: $endpoint is refused with $status $code and changes nothing', async ({ caller, endpoint, status, code }) => {
      const before = await snapshot();
      const etag = (await h.getClaim(claimId)).headers.etag as string;
      const res = await ENDPOINTS.find((e) => e.name === endpoint)!.send(claimId, await h.auth(caller), etag);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(await snapshot()).toEqual(before);
    });

    it.each(['programManager', 'reviewer', 'customer'] as const)('%s may not create a claim', async (caller) => {
      const res = await h.api().post('/v1/claims').set('Authorization', await h.auth(caller)).send(claimFields());
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbiddenRole');
    });

    it("a partner may not create a claim under another partner's ID; without one, its own is used", async () => {
      const count = (await t.store.listClaims({ limit: 100 })).length;
      const foreign = await h.api()
        .post('/v1/claims')
        .set('Authorization', await h.auth('partner'))
        .send(claimFields({ partnerId: OTHER_PARTNER_ID }));
      expect(foreign.status).toBe(403);
      expect(foreign.body.code).toBe('notYourClaim');
      expect(await t.store.listClaims({ limit: 100 })).toHaveLength(count);

      const { partnerId: _omitted, ...withoutPartner } = claimFields();
      const own = await h.api().post('/v1/claims').set('Authorization', await h.auth('otherPartner')).send(withoutPartner);
      expect(own.status).toBe(201);
      expect(own.body.fields.partnerId).toBe(OTHER_PARTNER_ID);
    });

    it.each([
      ['partner', 403],
      ['customer', 403],
      ['reviewer', 200],
      ['programManager', 200],
    ] as const)('the outbox: %s gets %i', async (caller, status) => {
      const res = await h.api().get('/v1/outbox').set('Authorization', await h.auth(caller));
      expect(res.status).toBe(status);
      if (status === 403) expect(res.body.code).toBe('forbiddenRole');
    });
  });

  describe('authentication', () => {
    const routes = () =>
      registeredRoutes(t.app).filter((r) => !['/healthz', '/readyz', '/metrics', '/openapi.json', '/v1/auth/config', '/v1/auth/dev-token', '/v1/policies/current'].includes(r.path));

    it('every route under /v1 answers 401 without a token, with WWW-Authenticate: Bearer', async () => {
      const all = routes();
      expect(all.length).toBeGreaterThanOrEqual(13);
      for (const route of all) {
        const url = concretePath(route.path, { id: claimId, event: 'submit', poeId });
        const res = await (h.api() as unknown as Record<string, (url: string) => Test>)[route.method]!(url);
        expect(res.status, `${route.method} ${url}`).toBe(401);
        expect(res.body.code).toBe('missingToken');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="cpor"');
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    });

    const badAuthorizations: Array<[string, () => Promise<string>, string]> = [
      ['garbage', async () => 'Bearer not-a-jwt', 'invalidToken'],
      ['another scheme', async () => 'Basic dXNlcjpwYXNz', 'invalidToken'],
      [
        'a token signed with another secret',
        async () => `Bearer ${await mintToken({ secret: new Uint8Array(randomBytes(32)), role: 'reviewer', subject: 'rev-1' })}`,
        'invalidToken',
      ],
      [
        'an expired token',
        async () => `Bearer ${await t.token(CALLERS.reviewer, { expiresIn: '1h', issuedAt: new Date(t.clock.now().getTime() - 2 * 3_600_000) })}`,
        'expiredToken',
      ],
      [
        'an unsigned token (alg: none)',
        async () => {
          const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
          const exp = Math.floor(t.clock.now().getTime() / 1000) + 3600;
          return `Bearer ${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'rev-1', role: 'reviewer', exp })}.`;
        },
        'invalidToken',
      ],
      ['a role the policy does not have', async () => `Bearer ${await t.token({ role: 'superuser', id: 'x' })}`, 'invalidToken'],
      ['a partner role without a partner ID', async () => `Bearer ${await t.token({ role: 'incentivesAdmin', id: 'x' })}`, 'invalidToken'],
      ['the system role', async () => `Bearer ${await t.token({ role: 'system', id: 'x' })}`, 'invalidToken'],
    ];
    it.each(badAuthorizations)('%s is a 401', async (_name, authorization, code) => {
      const res = await h.api().get(`/v1/claims/${claimId}`).set('Authorization', await authorization());
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(code);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="cpor", error="invalid_token"');
    });
  });

  describe('unknown fields in a body', () => {
    it.each([
      ['a top-level field', { ...claimFields(), colour: 'blue' }, '$.colour'],
      ['a nested field', { ...claimFields(), customer: { ...claimFields().customer, nickname: 'C' } }, '$.customer.nickname'],
      ['a field of a product', { ...claimFields(), products: [{ line: 'microsoft365', workload: 'teams', seats: 10 }] }, '$.products[0].seats'],
    ])('creating a claim with %s is refused with its path, and nothing is stored', async (_name, body, path) => {
      const count = (await t.store.listClaims({ limit: 100 })).length;
      const res = await h.api().post('/v1/claims').set('Authorization', await h.auth('partner')).send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'invalidPayload', errors: expect.arrayContaining([expect.objectContaining({ path })]) });
      expect(await t.store.listClaims({ limit: 100 })).toHaveLength(count);
    });

    it.each([
      ['PATCH /v1/claims/{id}', (etag: string, a: string) => h.api().patch(`/v1/claims/${claimId}`).set('Authorization', a).set('If-Match', etag).send({ mpnId: '4512399', colour: 'blue' })],
      ['an action', (etag: string, a: string) => h.api().post(`/v1/claims/${claimId}/actions/withdraw`).set('Authorization', a).set('If-Match', etag).send({ colour: 'blue' })],
      ['a comment', (_etag: string, a: string) => h.api().post(`/v1/claims/${claimId}/comments`).set('Authorization', a).send({ text: 'Hi', colour: 'blue' })],
    ])('%s with an unknown field is refused and changes nothing', async (_name, send) => {
      const before = await snapshot();
      const etag = (await h.getClaim(claimId)).headers.etag as string;
      const res = await send(etag, await h.auth('partner'));
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path: '$.colour', message: 'unknown field "colour"' }]);
      expect(await snapshot()).toEqual(before);
    });
  });
});
