import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { startService, type RunningService } from '../../src/server';
import { BUNDLED_POLICY_DIR } from '../../src/simulate/policy-files';
import { documentedRequest } from '../support/documented-requests';
import { claimFields, PARTNER_ID } from '../support/factories';
import { startOidcProvider, type OidcProvider } from '../support/oidc-provider';

const CLIENT_ID = 'cpor-dashboard';
const partnerUser = { sub: 'li.wei', claims: { 'https://cpor.example/role': 'incentivesAdmin', pid: PARTNER_ID, name: 'Li Wei' } };

describe('OpenID Connect sign-in (OIDC_ISSUER)', () => {
  let idp: OidcProvider;
  let stranger: OidcProvider;
  let running: RunningService;
  let dataDir: string;
  beforeAll(async () => {
    idp = await startOidcProvider({ clientId: CLIENT_ID, user: partnerUser });
    stranger = await startOidcProvider({ clientId: CLIENT_ID, user: partnerUser });
    dataDir = mkdtempSync(join(tmpdir(), 'cpor-oidc-'));
    const config = loadConfig(
      {
        PORT: '0',
        DATA_DIR: dataDir,
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: CLIENT_ID,
        OIDC_ROLE_CLAIM: 'https://cpor.example/role',
        OIDC_PARTNER_CLAIM: 'pid',
        OIDC_TENANT_CLAIM: 'tid',
      },
      { policyPath: BUNDLED_POLICY_DIR },
    );
    running = await startService(config, { startScheduler: false, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    await idp?.close();
    await stranger?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const api = () => documentedRequest(running.url);

  it('tells the dashboard the issuer, client and scope, and offers no development sign-in', async () => {
    const res = await api().get('/v1/auth/config').expect(200);
    expect(res.body).toEqual({ devSignIn: false, demo: false, oidc: { issuer: idp.issuer, clientId: CLIENT_ID, scope: 'openid profile' } });
    await api().post('/v1/auth/dev-token').send({ role: 'reviewer' }).expect(404);
  });

  it("accepts the provider's access token (code flow with PKCE) and reads role and partner from the configured claims", async () => {
    const { access_token: token } = await idp.signIn();
    const created = await api().post('/v1/claims').set('Authorization', `Bearer ${token}`).send(claimFields({ partnerId: undefined as never })).expect(201);
    expect(created.body.fields.partnerId).toBe(PARTNER_ID);
    const list = await api().get('/v1/claims').set('Authorization', `Bearer ${token}`).expect(200);
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
  });

  it('refuses a token from another issuer, and one whose role claim is not where it is configured', async () => {
    const { access_token: foreign } = await stranger.signIn();
    const refused = await api().get('/v1/claims').set('Authorization', `Bearer ${foreign}`).expect(401);
    expect(refused.body.code).toBe('invalidToken');

    idp.setUser({ sub: 'someone', claims: { role: 'reviewer' } });
    const { access_token: misplaced } = await idp.signIn();
    const noRole = await api().get('/v1/claims').set('Authorization', `Bearer ${misplaced}`).expect(401);
    expect(noRole.body.detail).toContain('https://cpor.example/role');
    idp.setUser(partnerUser);
  });
});
