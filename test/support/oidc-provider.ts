/**
 * A minimal OpenID Connect provider for tests (API and browser): discovery, `/authorize`
 * that signs in a configured user without asking (authorization code with PKCE S256 only),
 * `/token` (the code for an access token and an ID token, ES256 JWTs), `/jwks`. It listens on
 * 127.0.0.1 on a free port; its token and discovery endpoints answer any origin (CORS), as a
 * browser app on another origin needs.
 *
 *   const idp = await startOidcProvider({ clientId: 'cpor-dashboard', user: { sub: 'li', claims: { role: 'incentivesAdmin', partner_id: '4512345' } } });
 *   // OIDC_ISSUER=idp.issuer … ; a browser follows idp's /authorize; tests may call idp.signIn(…)
 *   await idp.close();
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export interface OidcUser {
  sub: string;
  /** Claims put in the access token and the ID token (role, partner, tenant under whatever names the test configures). */
  claims: Record<string, unknown>;
}

export interface OidcProviderOptions {
  clientId: string;
  /** The user /authorize signs in (changeable with setUser). */
  user: OidcUser;
  /** `aud` of access tokens; default the client id. */
  audience?: string;
  /** Seconds an access token is valid; default 3600. */
  tokenLifetimeSec?: number;
}

export interface OidcProvider {
  /** The issuer (`http://127.0.0.1:<port>`): OIDC_ISSUER. */
  issuer: string;
  setUser(user: OidcUser): void;
  /** Walks the code flow with PKCE as a browser would (authorize, then token); returns the token answer. */
  signIn(options?: { redirectUri?: string; scope?: string }): Promise<{ access_token: string; id_token: string; token_type: string; expires_in: number }>;
  close(): Promise<void>;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  nonce?: string;
  user: OidcUser;
  expiresAt: number;
}

const CODE_LIFETIME_MS = 60_000;

const base64url = (bytes: Buffer) => bytes.toString('base64url');
const s256 = (verifier: string) => base64url(createHash('sha256').update(verifier).digest());

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = base64url(randomBytes(8));
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  let user = options.user;
  let issuer = '';

  const sign = (claims: Record<string, unknown>, audience: string, lifetime: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${lifetime}s`)
      .sign(privateKey);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'access-control-allow-origin': '*', ...headers });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: ServerResponse, error: string, description: string) => send(res, 400, { error, error_description: description });
  const readForm = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return new URLSearchParams(text);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type' });
      res.end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        token_endpoint_auth_methods_supported: ['none'],
        scopes_supported: ['openid', 'profile'],
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      send(res, 200, { keys: [jwk] });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const q = url.searchParams;
      const redirectUri = q.get('redirect_uri');
      if (q.get('client_id') !== options.clientId) return oauthError(res, 'unauthorized_client', 'unknown client_id');
      if (!redirectUri) return oauthError(res, 'invalid_request', 'redirect_uri is required');
      if (q.get('response_type') !== 'code') return oauthError(res, 'unsupported_response_type', 'only response_type=code');
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return oauthError(res, 'invalid_request', 'PKCE with S256 is required');
      const code = base64url(randomBytes(24));
      codes.set(code, {
        clientId: options.clientId,
        redirectUri,
        challenge: q.get('code_challenge')!,
        scope: q.get('scope') ?? 'openid',
        ...(q.get('nonce') ? { nonce: q.get('nonce')! } : {}),
        user,
        expiresAt: Date.now() + CODE_LIFETIME_MS,
      });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      if (q.get('state') !== null) target.searchParams.set('state', q.get('state')!);
      target.searchParams.set('iss', issuer);
      res.writeHead(302, { location: target.toString() });
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      readForm(req).then(async (form) => {
        if (form.get('grant_type') !== 'authorization_code') return oauthError(res, 'unsupported_grant_type', 'only authorization_code');
        const pending = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!pending || pending.expiresAt < Date.now()) return oauthError(res, 'invalid_grant', 'unknown, used or expired code');
        if (form.get('client_id') !== pending.clientId || form.get('redirect_uri') !== pending.redirectUri) return oauthError(res, 'invalid_grant', 'client_id or redirect_uri differ from the authorization request');
        if (s256(form.get('code_verifier') ?? '') !== pending.challenge) return oauthError(res, 'invalid_grant', 'the code_verifier does not match the code_challenge');
        const lifetime = options.tokenLifetimeSec ?? 3600;
        const access = await sign({ ...pending.user.claims, sub: pending.user.sub, scope: pending.scope, client_id: pending.clientId }, options.audience ?? pending.clientId, lifetime);
        const id = await sign({ ...pending.user.claims, sub: pending.user.sub, ...(pending.nonce ? { nonce: pending.nonce } : {}) }, pending.clientId, lifetime);
        send(res, 200, { access_token: access, id_token: id, token_type: 'Bearer', expires_in: lifetime, scope: pending.scope });
      }, () => oauthError(res, 'invalid_request', 'unreadable body'));
      return;
    }
    send(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    setUser(next) {
      user = next;
    },
    async signIn({ redirectUri = 'http://127.0.0.1/callback', scope = 'openid profile' } = {}) {
      const verifier = base64url(randomBytes(32));
      const authorize = new URL(`${issuer}/authorize`);
      for (const [key, value] of Object.entries({
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: redirectUri,
        scope,
        state: 'test-state',
        code_challenge: s256(verifier),
        code_challenge_method: 'S256',
      })) authorize.searchParams.set(key, value);
      const redirect = await fetch(authorize, { redirect: 'manual' });
      const location = redirect.headers.get('location');
      if (redirect.status !== 302 || !location) throw new Error(`/authorize answered ${redirect.status}: ${await redirect.text()}`);
      const code = new URL(location).searchParams.get('code')!;
      const token = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: options.clientId, code_verifier: verifier }),
      });
      if (!token.ok) throw new Error(`/token answered ${token.status}: ${await token.text()}`);
      return (await token.json()) as { access_token: string; id_token: string; token_type: string; expires_in: number };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
