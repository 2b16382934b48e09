/**
 * Who is signed in: the bearer token and what the dashboard shows for it (role, its kind, the
 * partner ID or tenant), kept in sessionStorage (gone when the tab closes). Sign-in is either
 * the development token route or OpenID Connect (authorization code with PKCE S256).
 */
import { api, ok } from './api/client';
import type { AuthConfig, RoleKind } from './api/contract';

export interface Session {
  token: string;
  expiresAt: string;
  role: string;
  kind: RoleKind;
  partnerId?: string;
  tenantId?: string;
  name: string;
}

const KEY = 'cpor.session';
const OIDC_KEY = 'cpor.oidc';

export function loadSession(): Session | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return undefined;
  const session = JSON.parse(raw) as Session;
  if (Date.parse(session.expiresAt) <= Date.now()) {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
  return session;
}

export function saveSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

export async function devSignIn(
  input: { role: string; partnerId?: string; tenantId?: string; name?: string },
  kind: RoleKind,
): Promise<Session> {
  const { token, expiresAt } = ok(await api.POST('/v1/auth/dev-token', { body: input }));
  return {
    token,
    expiresAt,
    role: input.role,
    kind,
    ...(input.partnerId ? { partnerId: input.partnerId } : {}),
    ...(input.tenantId ? { tenantId: input.tenantId } : {}),
    name: input.name || input.role,
  };
}

// ---- OpenID Connect: authorization code + PKCE ----

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const randomText = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`the issuer's discovery document answered ${res.status}`);
  return (await res.json()) as Discovery;
}

const redirectUri = () => `${location.origin}/callback`;

/** Sends the browser to the issuer's authorization endpoint. */
export async function startOidcSignIn(oidc: NonNullable<AuthConfig['oidc']>): Promise<void> {
  const discovery = await discover(oidc.issuer);
  const verifier = randomText();
  const state = randomText();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(OIDC_KEY, JSON.stringify({ verifier, state, tokenEndpoint: discovery.token_endpoint, clientId: oidc.clientId }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** On /callback: trades the code for tokens; the access token is the API's bearer token. */
export async function finishOidcSignIn(kindOf: (role: string, token: string) => Promise<RoleKind | undefined>): Promise<Session> {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(OIDC_KEY) ?? 'null') as
    | { verifier: string; state: string; tokenEndpoint: string; clientId: string }
    | null;
  sessionStorage.removeItem(OIDC_KEY);
  if (!pending || params.get('state') !== pending.state) throw new Error('the sign-in answer does not match a sign-in started here');
  const error = params.get('error');
  if (error) throw new Error(params.get('error_description') ?? error);
  const res = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(),
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  if (!res.ok) throw new Error(`the token endpoint answered ${res.status}`);
  const tokens = (await res.json()) as { access_token: string; expires_in?: number; id_token?: string };
  const claims = jwtClaims(tokens.access_token);
  // The API reads the role from OIDC_ROLE_CLAIM (default `role`), which /v1/auth/config does not
  // name: take `role`, else the first claim whose value is one of the policy's roles.
  let role = typeof claims.role === 'string' ? claims.role : '';
  let kind = await kindOf(role, tokens.access_token);
  for (const value of Object.values(claims)) {
    if (kind) break;
    if (typeof value !== 'string') continue;
    kind = await kindOf(value, tokens.access_token);
    if (kind) role = value;
  }
  if (!kind) throw new Error(`your account's role "${role}" is not a role of this program`);
  const partnerId = claims.partner_id ?? claims.partnerId;
  const tenantId = claims.tenant_id ?? claims.tenantId;
  return {
    token: tokens.access_token,
    expiresAt: new Date(typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + (tokens.expires_in ?? 3600) * 1000).toISOString(),
    role,
    kind,
    ...(typeof partnerId === 'string' ? { partnerId } : {}),
    ...(typeof tenantId === 'string' ? { tenantId } : {}),
    name: String(claims.name ?? claims.preferred_username ?? claims.sub ?? role),
  };
}

/** The payload of a JWT, for display only (the API verifies the token). */
function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
}
