import { afterEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { documentedRequest } from '../support/documented-requests';
import { PARTNER_ID, TENANT_ID } from '../support/factories';
import { createTestApp, type TestApp } from '../support/test-app';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let h: TestApp | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  describe('GET /v1/auth/config', () => {
    it('says development sign-in is on while the service signs with its generated secret', async () => {
      h = await createTestApp({ database: db, auth: { devSignIn: true } });
      const res = await documentedRequest(h.app).get('/v1/auth/config').expect(200);
      expect(res.body).toEqual({ devSignIn: true, demo: false, oidc: null });
    });

    it('names the OpenID Connect issuer, client and scope when one is configured, and no development sign-in', async () => {
      const oidc = { issuer: 'https://login.example.com', clientId: 'cpor-dashboard', scope: 'openid profile' };
      h = await createTestApp({ database: db, auth: { oidc } });
      const res = await documentedRequest(h.app).get('/v1/auth/config').expect(200);
      expect(res.body).toEqual({ devSignIn: false, demo: false, oidc });
    });
  });

  describe('POST /v1/auth/dev-token', () => {
    it('signs a partner token the API accepts, for that partner ID only', async () => {
      h = await createTestApp({ database: db, auth: { devSignIn: true } });
      const res = await documentedRequest(h.app)
        .post('/v1/auth/dev-token')
        .send({ role: 'incentivesAdmin', partnerId: PARTNER_ID, name: 'Li Wei' })
        .expect(201);
      expect(decodeJwt(res.body.token)).toMatchObject({ role: 'incentivesAdmin', partnerId: PARTNER_ID, name: 'Li Wei' });
      expect(Date.parse(res.body.expiresAt) - h.clock.now().getTime()).toBeLessThanOrEqual(3600_000);
      const list = await documentedRequest(h.app).get('/v1/claims').set('authorization', `Bearer ${res.body.token}`).expect(200);
      expect(list.body.items).toEqual([]);
    });

    it('keeps only the id the role acts for: a reviewer token carries no partner or tenant', async () => {
      h = await createTestApp({ database: db, auth: { devSignIn: true } });
      const res = await documentedRequest(h.app).post('/v1/auth/dev-token').send({ role: 'reviewer', partnerId: PARTNER_ID, tenantId: TENANT_ID }).expect(201);
      const claims = decodeJwt(res.body.token);
      expect(claims.partnerId).toBeUndefined();
      expect(claims.tenantId).toBeUndefined();
    });

    it('refuses a role the policy does not have, a partner role without partnerId and a customer without tenantId, at their JSON paths', async () => {
      h = await createTestApp({ database: db, auth: { devSignIn: true } });
      const api = documentedRequest(h.app);
      const unknown = await api.post('/v1/auth/dev-token').send({ role: 'superuser' }).expect(400);
      expect(unknown.body).toMatchObject({ code: 'invalidPayload', errors: [{ path: '$.role' }] });
      const partner = await api.post('/v1/auth/dev-token').send({ role: 'billingAdmin' }).expect(400);
      expect(partner.body.errors[0].path).toBe('$.partnerId');
      const customer = await api.post('/v1/auth/dev-token').send({ role: 'customer' }).expect(400);
      expect(customer.body.errors[0].path).toBe('$.tenantId');
      const extra = await api.post('/v1/auth/dev-token').send({ role: 'reviewer', admin: true }).expect(400);
      expect(extra.body.code).toBe('invalidPayload');
    });

    it('is a 404 problem when the service does not sign with its generated development secret', async () => {
      h = await createTestApp({ database: db });
      const res = await documentedRequest(h.app).post('/v1/auth/dev-token').send({ role: 'reviewer' }).expect(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('devSignInUnavailable');
    });
  });
});
