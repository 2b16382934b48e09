import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthUnavailableError, type Authenticator, type RoleKinds } from '../../src/auth/authenticator';
import { createHs256Authenticator, createJwksAuthenticator } from '../../src/auth/jwt-authenticator';
import { mintToken } from '../../src/auth/mint-token';
import { UnauthenticatedError } from '../../src/domain/errors';

const ROLES: RoleKinds = {
  incentivesAdmin: { kind: 'partner' },
  reviewer: { kind: 'reviewer' },
  customer: { kind: 'customer' },
  programManager: { kind: 'internal' },
};
const SECRET = new TextEncoder().encode('a-development-secret-of-at-least-32-bytes!');
const ISSUER = 'https://login.example.test/';
const AUDIENCE = 'cpor-api';
const epoch = () => Math.floor(Date.now() / 1000);

let server: Server;
let jwksUrl: string;
let jwksRequests = 0;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let rsaJwk: JWK;
let auth: Authenticator;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  ec = await generateKeyPair('ES256');
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsaJwk, ecJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  auth = createJwksAuthenticator({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, roles: ROLES });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function sign(
  key: CryptoKey | Uint8Array,
  header: { alg: string; kid?: string },
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ sub: 'user-1', role: 'reviewer', iss: ISSUER, aud: AUDIENCE, iat: epoch(), exp: epoch() + 600, ...claims })
    .setProtectedHeader({ typ: 'JWT', ...header })
    .sign(key);
}

async function refusal(promise: Promise<unknown>): Promise<UnauthenticatedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthenticatedError);
  return error as UnauthenticatedError;
}

describe('createJwksAuthenticator', () => {
  it('accepts an RS256 token signed by a key of the JWKS', async () => {
    const token = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { role: 'incentivesAdmin', partnerId: '4512345' });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'user-1', role: 'incentivesAdmin', partnerId: '4512345' });
    expect(jwksRequests).toBeGreaterThanOrEqual(1);
  });

  it('accepts an ES256 token signed by a key of the JWKS', async () => {
    const token = await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }, { role: 'customer', tenantId: 't-1' });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'user-1', role: 'customer', tenantId: 't-1' });
  });

  it('refuses an expired RS256 token with expiredToken', async () => {
    const token = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { iat: epoch() - 7200, exp: epoch() - 3600 });
    expect((await refusal(auth.verify(token))).code).toBe('expiredToken');
  });

  it('refuses a token from another issuer or for another audience', async () => {
    const otherIssuer = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { iss: 'https://evil.test/' });
    expect((await refusal(auth.verify(otherIssuer))).message).toMatch(/issuer/);
    const otherAudience = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { aud: 'someone-else' });
    expect((await refusal(auth.verify(otherAudience))).message).toMatch(/audience/);
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const stranger = await generateKeyPair('RS256');
    const unknownKid = await sign(stranger.privateKey, { alg: 'RS256', kid: 'rsa-unknown' });
    expect((await refusal(auth.verify(unknownKid))).code).toBe('invalidToken');
    const stolenKid = await sign(stranger.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    expect((await refusal(auth.verify(stolenKid))).message).toMatch(/signature/);
  });

  it('refuses an HS256 token (algorithm confusion), even one keyed with the public key', async () => {
    const withSecret = await sign(SECRET, { alg: 'HS256' });
    expect((await refusal(auth.verify(withSecret))).message).toMatch(/algorithm/);
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const withPublicKey = await sign(pem, { alg: 'HS256', kid: 'rsa-1' });
    expect((await refusal(auth.verify(withPublicKey))).code).toBe('invalidToken');
    const withJwkBytes = await sign(new TextEncoder().encode(JSON.stringify(rsaJwk)), { alg: 'HS256', kid: 'rsa-1' });
    expect((await refusal(auth.verify(withJwkBytes))).code).toBe('invalidToken');
  });

  it('refuses a dev token minted with mintToken', async () => {
    const token = await mintToken({ secret: SECRET, role: 'reviewer', issuer: ISSUER, audience: AUDIENCE });
    expect((await refusal(auth.verify(token))).code).toBe('invalidToken');
  });

  it('refuses RSA algorithms it does not list (PS256, RS512) even from a JWKS key', async () => {
    const ps = await generateKeyPair('PS256');
    expect((await refusal(auth.verify(await sign(ps.privateKey, { alg: 'PS256', kid: 'rsa-1' })))).message).toMatch(/RS256 or ES256/);
    const rs512 = await generateKeyPair('RS512');
    expect((await refusal(auth.verify(await sign(rs512.privateKey, { alg: 'RS512', kid: 'rsa-1' })))).code).toBe('invalidToken');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'm', role: 'reviewer', iss: ISSUER, aud: AUDIENCE, exp: epoch() + 600 })}.`;
    expect((await refusal(auth.verify(token))).code).toBe('invalidToken');
  });

  it('refuses a JWKS-signed token with a role the policy does not define, or without its partnerId', async () => {
    const unknownRole = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { role: 'root' });
    expect((await refusal(auth.verify(unknownRole))).message).toMatch(/not a role of the policy/);
    const noPartner = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { role: 'incentivesAdmin' });
    expect((await refusal(auth.verify(noPartner))).message).toMatch(/partnerId/);
  });

  it('reports an unreachable JWKS as AuthUnavailableError with a retry delay, not as the caller\'s fault', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const offline = createJwksAuthenticator({ jwksUrl: `http://127.0.0.1:${port}/jwks.json`, roles: ROLES });
    const token = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    const error = await offline.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthUnavailableError);
    expect(error).not.toBeInstanceOf(UnauthenticatedError);
    expect((error as AuthUnavailableError).message).toMatch(/signing keys are unavailable/);
    expect((error as AuthUnavailableError).retryAfterSec).toBeGreaterThan(0);
  });

  it('refuses a JWKS-signed token issued in the future or valid for centuries', async () => {
    const future = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { iat: epoch() + 3600, exp: epoch() + 7200 });
    expect((await refusal(auth.verify(future))).message).toMatch(/issued in the future/);
    const forever = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { exp: 1e300 });
    expect((await refusal(auth.verify(forever))).message).toMatch(/at most/);
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => createJwksAuthenticator({ jwksUrl: 'file:///etc/jwks.json', roles: ROLES })).toThrow(/http/);
    expect(() => createJwksAuthenticator({ jwksUrl: 'not a url', roles: ROLES })).toThrow(/not a valid URL/);
  });
});

describe('createHs256Authenticator against asymmetric tokens', () => {
  it('refuses RS256 and ES256 tokens (algorithm confusion the other way)', async () => {
    const hs = createHs256Authenticator({ secret: SECRET, roles: ROLES, issuer: ISSUER, audience: AUDIENCE });
    const rs = await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    expect((await refusal(hs.verify(rs))).message).toMatch(/accepts HS256/);
    const es = await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1' });
    expect((await refusal(hs.verify(es))).code).toBe('invalidToken');
  });
});
