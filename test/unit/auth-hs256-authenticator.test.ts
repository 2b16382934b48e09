import { SignJWT, base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, RoleKinds } from '../../src/auth/authenticator';
import { createHs256Authenticator } from '../../src/auth/jwt-authenticator';
import { mintToken, parseDurationSeconds } from '../../src/auth/mint-token';
import { UnauthenticatedError } from '../../src/domain/errors';
import { bundledPolicy } from '../support/bundled-policy';

const SECRET = new TextEncoder().encode('a-development-secret-of-at-least-32-bytes!');
const OTHER_SECRET = new TextEncoder().encode('another-secret-that-is-also-32-bytes-long!!');
const NOW = new Date('2026-03-02T17:00:00Z');
const now = () => NOW;
const at = (offsetSec: number) => Math.floor(NOW.getTime() / 1000) + offsetSec;
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';

let roles: RoleKinds;
let auth: Authenticator;
beforeAll(async () => {
  roles = (await bundledPolicy()).roles;
  auth = createHs256Authenticator({ secret: SECRET, roles, now });
});

/** Signs arbitrary claims with HS256 (exp one hour after NOW unless given). */
function sign(claims: Record<string, unknown>, secret = SECRET, header: Record<string, unknown> = {}) {
  return new SignJWT({ exp: at(3600), iat: at(0), ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header })
    .sign(secret);
}

async function refusal(promise: Promise<unknown>): Promise<UnauthenticatedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthenticatedError);
  const refused = error as UnauthenticatedError;
  expect(refused.kind).toBe('unauthenticated');
  expect(refused.message).not.toMatch(/ERR_|at .*\.js|jose/);
  return refused;
}

describe('createHs256Authenticator: valid tokens', () => {
  it('accepts a partner-kind role with a partnerId and returns the principal', async () => {
    const token = await mintToken({ secret: SECRET, role: 'incentivesAdmin', partnerId: '4512345', subject: 'li@fabrikam.com', now });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'li@fabrikam.com', role: 'incentivesAdmin', partnerId: '4512345' });
  });

  it('accepts a reviewer, without partner or tenant ids', async () => {
    const token = await mintToken({ secret: SECRET, role: 'reviewer', subject: 'rev-1', now });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'rev-1', role: 'reviewer' });
  });

  it('accepts a customer with a tenantId', async () => {
    const token = await mintToken({ secret: SECRET, role: 'customer', tenantId: TENANT, subject: 'ana@contoso.com', now });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'ana@contoso.com', role: 'customer', tenantId: TENANT });
  });

  it('accepts an internal role (programManager)', async () => {
    const token = await mintToken({ secret: SECRET, role: 'programManager', now });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'dev:programManager', role: 'programManager' });
  });

  it('keeps only the id that matters for the role kind', async () => {
    const token = await sign({ sub: 'rev-1', role: 'reviewer', partnerId: '4512345', tenantId: TENANT });
    await expect(auth.verify(token)).resolves.toEqual({ id: 'rev-1', role: 'reviewer' });
    const partner = await sign({ sub: 'p', role: 'billingAdmin', partnerId: '1', tenantId: TENANT });
    await expect(auth.verify(partner)).resolves.toEqual({ id: 'p', role: 'billingAdmin', partnerId: '1' });
  });

  it('checks issuer and audience when configured', async () => {
    const strict = createHs256Authenticator({ secret: SECRET, roles, now, issuer: 'cpor', audience: 'cpor-api' });
    const good = await mintToken({ secret: SECRET, role: 'reviewer', issuer: 'cpor', audience: 'cpor-api', now });
    await expect(strict.verify(good)).resolves.toMatchObject({ role: 'reviewer' });
    const wrongIssuer = await mintToken({ secret: SECRET, role: 'reviewer', issuer: 'elsewhere', audience: 'cpor-api', now });
    expect((await refusal(strict.verify(wrongIssuer))).code).toBe('invalidToken');
    const wrongAudience = await mintToken({ secret: SECRET, role: 'reviewer', issuer: 'cpor', audience: 'other', now });
    expect((await refusal(strict.verify(wrongAudience))).message).toMatch(/audience/);
    const noIssuer = await mintToken({ secret: SECRET, role: 'reviewer', now });
    expect((await refusal(strict.verify(noIssuer))).code).toBe('invalidToken');
  });
});

describe('createHs256Authenticator: time', () => {
  it('refuses an expired token with expiredToken', async () => {
    const token = await sign({ sub: 'rev-1', role: 'reviewer', iat: at(-7200), exp: at(-61) });
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('expiredToken');
    expect(error.message).toMatch(/expired/);
  });

  it('refuses a token minted an hour ago with the default lifetime, once the clock tolerance has passed too', async () => {
    const token = await mintToken({ secret: SECRET, role: 'reviewer', now: () => new Date(NOW.getTime() - 3_661_000) });
    expect((await refusal(auth.verify(token))).code).toBe('expiredToken');
  });

  it('refuses a token that is not valid yet (nbf in the future) with invalidToken', async () => {
    const token = await sign({ sub: 'rev-1', role: 'reviewer', nbf: at(600) });
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/not valid yet/);
  });

  it('applies the clock tolerance to exp and nbf', async () => {
    const tolerant = createHs256Authenticator({ secret: SECRET, roles, now, clockToleranceSec: 60 });
    const justExpired = await sign({ sub: 'rev-1', role: 'reviewer', exp: at(-30) });
    await expect(tolerant.verify(justExpired)).resolves.toMatchObject({ id: 'rev-1' });
    const almostValid = await sign({ sub: 'rev-1', role: 'reviewer', nbf: at(30) });
    await expect(tolerant.verify(almostValid)).resolves.toMatchObject({ id: 'rev-1' });
  });

  it('refuses a token without exp', async () => {
    const token = await new SignJWT({ sub: 'rev-1', role: 'reviewer', iat: at(0) }).setProtectedHeader({ alg: 'HS256' }).sign(SECRET);
    expect((await refusal(auth.verify(token))).message).toMatch(/"exp"/);
  });

  it('refuses a token without iat', async () => {
    const token = await new SignJWT({ sub: 'rev-1', role: 'reviewer', exp: at(600) }).setProtectedHeader({ alg: 'HS256' }).sign(SECRET);
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/"iat"/);
  });

  it('tolerates 60 s of clock skew by default, and no more', async () => {
    await expect(auth.verify(await sign({ sub: 'rev-1', role: 'reviewer', exp: at(-59) }))).resolves.toMatchObject({ id: 'rev-1' });
    expect((await refusal(auth.verify(await sign({ sub: 'rev-1', role: 'reviewer', exp: at(-61) })))).code).toBe('expiredToken');
    await expect(auth.verify(await sign({ sub: 'rev-1', role: 'reviewer', iat: at(59), exp: at(3600) }))).resolves.toMatchObject({ id: 'rev-1' });
  });

  it('refuses a token issued an hour in the future with invalidToken', async () => {
    const token = await sign({ sub: 'rev-1', role: 'reviewer', iat: at(3600), exp: at(7200) });
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/issued in the future/);
  });

  it('refuses a token issued beyond a configured clock tolerance, and accepts one within it', async () => {
    const strict = createHs256Authenticator({ secret: SECRET, roles, now, clockToleranceSec: 5 });
    expect((await refusal(strict.verify(await sign({ sub: 'rev-1', role: 'reviewer', iat: at(6) })))).code).toBe('invalidToken');
    await expect(strict.verify(await sign({ sub: 'rev-1', role: 'reviewer', iat: at(4) }))).resolves.toMatchObject({ id: 'rev-1' });
  });

  it('refuses a token valid for centuries (exp 1e300) with invalidToken', async () => {
    const token = await sign({ sub: 'rev-1', role: 'reviewer', exp: 1e300 });
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/at most 1 d/);
  });

  it('accepts a lifetime of exactly the default maximum (24 h) and refuses one second more', async () => {
    await expect(auth.verify(await sign({ sub: 'rev-1', role: 'reviewer', iat: at(-60), exp: at(86_340) }))).resolves.toMatchObject({ id: 'rev-1' });
    const over = await refusal(auth.verify(await sign({ sub: 'rev-2', role: 'reviewer', iat: at(-60), exp: at(86_341) })));
    expect(over.code).toBe('invalidToken');
    expect(over.message).toMatch(/valid for 86401 s/);
  });

  it('refuses a lifetime over a configured maximum', async () => {
    const hourly = createHs256Authenticator({ secret: SECRET, roles, now, maxLifetimeSec: 3600 });
    await expect(hourly.verify(await sign({ sub: 'rev-1', role: 'reviewer', exp: at(3600) }))).resolves.toMatchObject({ id: 'rev-1' });
    expect((await refusal(hourly.verify(await sign({ sub: 'rev-1', role: 'reviewer', exp: at(3601) })))).message).toMatch(/at most 1 h/);
  });
});

describe('createHs256Authenticator: forgeries', () => {
  it('refuses a token signed with another secret', async () => {
    const token = await mintToken({ secret: OTHER_SECRET, role: 'reviewer', now });
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/signature/);
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const token = await mintToken({ secret: SECRET, role: 'incentivesAdmin', partnerId: '4512345', now });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    const forged = base64url.encode(JSON.stringify({ ...claims, partnerId: '9999999' }));
    expect((await refusal(auth.verify(`${header}.${forged}.${signature}`))).code).toBe('invalidToken');
  });

  it('refuses an unsigned token (alg none), hand-crafted', async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const header = encode({ alg: 'none', typ: 'JWT' });
    const payload = encode({ sub: 'mallory', role: 'reviewer', iat: at(0), exp: at(3600) });
    const error = await refusal(auth.verify(`${header}.${payload}.`));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/algorithm/);
  });

  it('refuses HS384/HS512 tokens even with the right secret', async () => {
    const token = await new SignJWT({ sub: 'rev-1', role: 'reviewer', exp: at(3600) })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(SECRET);
    expect((await refusal(auth.verify(token))).message).toMatch(/accepts HS256/);
  });

  it.each([
    ['an empty string', ''],
    ['garbage', 'not-a-jwt'],
    ['two segments', 'abc.def'],
    ['a header that is not JSON', `${Buffer.from('{nope').toString('base64url')}.e30.sig`],
  ])('refuses %s as a malformed token', async (_label, token) => {
    expect((await refusal(auth.verify(token))).code).toBe('invalidToken');
  });

  it('refuses a token far longer than any real one', async () => {
    expect((await refusal(auth.verify('a'.repeat(20_000)))).code).toBe('invalidToken');
  });
});

describe('createHs256Authenticator: claims', () => {
  it('refuses a token without sub', async () => {
    const token = await sign({ role: 'reviewer' });
    expect((await refusal(auth.verify(token))).message).toMatch(/"sub"/);
  });

  it('refuses a token without role', async () => {
    const token = await sign({ sub: 'x' });
    expect((await refusal(auth.verify(token))).message).toMatch(/"role"/);
  });

  it.each(['superAdmin', 'constructor', '__proto__', 'system'])('refuses the role %s, which the policy does not define', async (role) => {
    const token = await sign({ sub: 'x', role });
    const error = await refusal(auth.verify(token));
    expect(error.code).toBe('invalidToken');
    expect(error.message).toMatch(/not a role of the policy/);
  });

  it('refuses a partner-kind role without partnerId', async () => {
    const token = await mintToken({ secret: SECRET, role: 'globalAdmin', now });
    expect((await refusal(auth.verify(token))).message).toMatch(/partnerId/);
  });

  it('refuses a partnerId that is not a string', async () => {
    const token = await sign({ sub: 'x', role: 'globalAdmin', partnerId: 4512345 });
    expect((await refusal(auth.verify(token))).message).toMatch(/partnerId/);
  });

  it('refuses a customer without tenantId', async () => {
    const token = await mintToken({ secret: SECRET, role: 'customer', now });
    expect((await refusal(auth.verify(token))).message).toMatch(/tenantId/);
  });
});

describe('createHs256Authenticator: configuration', () => {
  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => createHs256Authenticator({ secret: new Uint8Array(16), roles: {} })).toThrow(/at least 32 bytes/);
  });
});

describe('mintToken', () => {
  it('mints by default a token the default authenticator accepts', async () => {
    const token = await mintToken({ secret: SECRET, role: 'reviewer', now });
    await expect(createHs256Authenticator({ secret: SECRET, roles, now }).verify(token)).resolves.toMatchObject({ role: 'reviewer' });
  });

  it('refuses to mint a token valid longer than the service accepts (default 24 h, or the given maximum)', async () => {
    await expect(mintToken({ secret: SECRET, role: 'reviewer', expiresIn: '24h', now })).resolves.toMatch(/^ey/);
    await expect(mintToken({ secret: SECRET, role: 'reviewer', expiresIn: '25h', now })).rejects.toThrow(/at most 86400 s \(JWT_MAX_LIFETIME_SECONDS\)/);
    await expect(mintToken({ secret: SECRET, role: 'reviewer', expiresIn: '7d', now, maxLifetimeSeconds: 7 * 86_400 })).resolves.toMatch(/^ey/);
  });

  it('writes the documented claims', async () => {
    const token = await mintToken({
      secret: SECRET,
      role: 'incentivesAdmin',
      partnerId: '4512345',
      expiresIn: '30m',
      issuer: 'cpor',
      audience: 'cpor-api',
      now,
    });
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toEqual({
      sub: 'dev:incentivesAdmin:4512345',
      role: 'incentivesAdmin',
      partnerId: '4512345',
      iat: at(0),
      exp: at(1800),
      iss: 'cpor',
      aud: 'cpor-api',
    });
  });

  it.each([
    ['1h', 3600],
    ['30m', 1800],
    ['7d', 604_800],
    ['2 weeks', 1_209_600],
    ['90 seconds', 90],
    [45, 45],
  ])('reads the lifetime %s as %i seconds', (input, seconds) => {
    expect(parseDurationSeconds(input)).toBe(seconds);
  });

  it.each(['', 'soon', '-1h', '0s', '1y', 0, -5, Number.NaN])('refuses the lifetime %s', (input) => {
    expect(() => parseDurationSeconds(input)).toThrow(/lifetime/);
  });
});
