/** Bearer JWT authenticators: HS256 with a shared secret, or RS256/ES256 with keys from a JWKS URL. */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError } from '../domain/errors';
import { AuthUnavailableError, type Authenticator, type Principal, type RoleKinds } from './authenticator';

export interface Hs256AuthenticatorOptions {
  /** At least 32 bytes (see loadOrCreateSecret). */
  secret: Uint8Array;
  issuer?: string;
  audience?: string;
  /** Seconds of clock skew allowed on exp, nbf and iat; default DEFAULT_CLOCK_TOLERANCE_SEC. */
  clockToleranceSec?: number;
  /** Longest lifetime (exp − iat) accepted, in seconds; default DEFAULT_MAX_LIFETIME_SEC. */
  maxLifetimeSec?: number;
  /** The policy's roles, or a function giving those of the policy in effect (policies reload). */
  roles: RoleKinds | (() => RoleKinds);
  now?: () => Date;
}

export interface JwksAuthenticatorOptions {
  jwksUrl: string;
  issuer?: string;
  audience?: string;
  clockToleranceSec?: number;
  maxLifetimeSec?: number;
  roles: RoleKinds | (() => RoleKinds);
  now?: () => Date;
}

/** Default clock skew tolerated between the token issuer and this service (JWT_CLOCK_TOLERANCE_SECONDS). */
const DEFAULT_CLOCK_TOLERANCE_SEC = 60;
/** Default longest token lifetime, exp − iat (JWT_MAX_LIFETIME_SECONDS): a day. */
export const DEFAULT_MAX_LIFETIME_SEC = 86_400;
/** How long a caller should wait before retrying when the signing keys cannot be fetched (jose's cooldown). */
const JWKS_COOLDOWN_SEC = 30;

/** The minimum HMAC key length for HS256 (RFC 7518 §3.2: at least the hash output size). */
export const MIN_SECRET_BYTES = 32;

const JWKS_ALGORITHMS = ['RS256', 'ES256'];
/** Far above any real bearer token; stops a huge header from being parsed at all. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The token claims that carry a caller's role, partner ID and tenant ID. */
export interface ClaimNames {
  role: string;
  partnerId: string;
  tenantId: string;
}

const DEFAULT_CLAIM_NAMES: ClaimNames = { role: 'role', partnerId: 'partnerId', tenantId: 'tenantId' };

export interface OidcAuthenticatorOptions {
  /** The issuer: its discovery document (`<issuer>/.well-known/openid-configuration`) names the jwks_uri; tokens must carry it as `iss`. */
  issuer: string;
  audience?: string;
  claims: ClaimNames;
  clockToleranceSec?: number;
  maxLifetimeSec?: number;
  roles: RoleKinds | (() => RoleKinds);
  now?: () => Date;
}

interface VerifySettings {
  claims?: ClaimNames;
  key: Uint8Array | JWTVerifyGetKey;
  algorithms: string[];
  issuer?: string;
  audience?: string;
  clockToleranceSec?: number;
  maxLifetimeSec?: number;
  roles: RoleKinds | (() => RoleKinds);
  now?: () => Date;
}

/** Verifies HS256 tokens signed with `secret`; every other algorithm (`none` included) is refused. */
export function createHs256Authenticator(options: Hs256AuthenticatorOptions): Authenticator {
  if (options.secret.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`The HS256 secret must be at least ${MIN_SECRET_BYTES} bytes; it has ${options.secret.byteLength}.`);
  }
  return createJwtAuthenticator({ ...options, key: options.secret, algorithms: ['HS256'] });
}

/** Verifies RS256/ES256 tokens against the keys published at `jwksUrl` (fetched on demand and cached by jose). */
export function createJwksAuthenticator(options: JwksAuthenticatorOptions): Authenticator {
  let url: URL;
  try {
    url = new URL(options.jwksUrl);
  } catch {
    throw new Error(`The JWKS URL "${options.jwksUrl}" is not a valid URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`The JWKS URL must be http(s); got "${url.protocol}".`);
  }
  const keys = createRemoteJWKSet(url, { timeoutDuration: 5_000, cooldownDuration: JWKS_COOLDOWN_SEC * 1000 });
  return createJwtAuthenticator({ ...options, key: keys, algorithms: JWKS_ALGORITHMS });
}

/**
 * Verifies an OpenID Connect provider's access tokens (RS256/ES256, `iss` = the issuer) with the
 * keys at the jwks_uri its discovery document names, fetched when the first token arrives (an
 * unreachable provider is a 503 then, and tried again on the next request), reading role, partner
 * and tenant from the configured claims.
 */
export function createOidcAuthenticator(options: OidcAuthenticatorOptions): Authenticator {
  const issuer = options.issuer.replace(/\/+$/, '');
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error('the discovery document names no jwks_uri');
    if (typeof doc.issuer === 'string' && doc.issuer.replace(/\/+$/, '') !== issuer) throw new Error(`the discovery document names another issuer (${doc.issuer})`);
    return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5_000, cooldownDuration: JWKS_COOLDOWN_SEC * 1000 });
  };
  const keySet: JWTVerifyGetKey = async (header, token) => {
    keys ??= discover();
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await keys;
    } catch (error) {
      keys = undefined;
      throw new AuthUnavailableError(`Could not verify the bearer token: the identity provider's discovery failed (${(error as Error).message}); try again shortly.`, JWKS_COOLDOWN_SEC, { cause: error });
    }
    return getKey(header, token);
  };
  return createJwtAuthenticator({ ...options, issuer: options.issuer, key: keySet, algorithms: JWKS_ALGORITHMS });
}

/** Verified tokens kept (by their exact text) so a client's next request skips the signature check. */
const VERIFIED_CACHE_SIZE = 10_000;

function createJwtAuthenticator(settings: VerifySettings): Authenticator {
  const accepted = settings.algorithms.join(' or ');
  // Only tokens that verified are kept, and only until their `exp`: a cached token is exactly as
  // valid as it was, and the role is looked up in the policy in effect on every request.
  const verified = new Map<string, JWTPayload & { exp: number }>();
  const nowSeconds = () => (settings.now?.() ?? new Date()).getTime() / 1000;
  const tolerance = settings.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  const maxLifetime = settings.maxLifetimeSec ?? DEFAULT_MAX_LIFETIME_SEC;
  const names = settings.claims ?? DEFAULT_CLAIM_NAMES;
  return {
    async verify(token) {
      const compact = token.trim();
      if (compact === '') throw invalid('No bearer token was given; send `Authorization: Bearer <token>`.');
      if (compact.length > MAX_TOKEN_LENGTH) throw invalid('The bearer token is too long to be a token this service issues.');
      const roles = () => (typeof settings.roles === 'function' ? settings.roles() : settings.roles);
      const cached = verified.get(compact);
      if (cached) {
        if (cached.exp > nowSeconds()) return principalOf(cached, roles(), names);
        verified.delete(compact);
      }
      let payload: JWTPayload;
      try {
        const options = {
          algorithms: settings.algorithms,
          issuer: settings.issuer,
          audience: settings.audience,
          clockTolerance: tolerance,
          requiredClaims: ['sub', 'exp', 'iat'],
          // With maxTokenAge jose also refuses an iat in the future (beyond the tolerance).
          maxTokenAge: maxLifetime,
          currentDate: settings.now?.(),
        };
        const { key } = settings;
        const result =
          typeof key === 'function' ? await jwtVerify(compact, key, options) : await jwtVerify(compact, key, options);
        payload = result.payload;
      } catch (error) {
        throw translate(error, accepted);
      }
      // A token valid for longer than the service allows is refused whole, not trimmed: whoever
      // issued it did not mean this service's rules (and `exp: 1e300` is no expiry at all).
      const lifetime = (payload.exp as number) - (payload.iat as number);
      if (!(lifetime <= maxLifetime)) {
        throw invalid(
          `The bearer token is valid for ${formatSeconds(lifetime)}; this service accepts tokens valid for at most ${formatSeconds(maxLifetime)} (exp − iat).`,
        );
      }
      const principal = principalOf(payload, roles(), names);
      if (typeof payload.exp === 'number') {
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
        verified.set(compact, payload as JWTPayload & { exp: number });
      }
      return principal;
    },
  };
}

function principalOf(payload: JWTPayload, roles: RoleKinds, names: ClaimNames): Principal {
  const { sub } = payload;
  const role = payload[names.role];
  const partnerId = payload[names.partnerId];
  const tenantId = payload[names.tenantId];
  if (typeof sub !== 'string' || sub === '') throw invalid('The bearer token has no subject ("sub" claim).');
  if (typeof role !== 'string' || role === '') throw invalid(`The bearer token has no "${names.role}" claim.`);
  // hasOwn: a role named "constructor" or "__proto__" must not resolve through the prototype.
  const policyRole = Object.hasOwn(roles, role) ? roles[role] : undefined;
  if (!policyRole) throw invalid(`The bearer token's role "${role}" is not a role of the policy in effect.`);
  // Only the id that matters for the role's kind is kept, so a stray claim can never widen access.
  if (policyRole.kind === 'partner') {
    if (typeof partnerId !== 'string' || partnerId === '') {
      throw invalid(`A token for the partner role "${role}" must carry a "${names.partnerId}" claim.`);
    }
    return { id: sub, role, partnerId };
  }
  if (policyRole.kind === 'customer') {
    if (typeof tenantId !== 'string' || tenantId === '') {
      throw invalid(`A token for the customer role "${role}" must carry a "${names.tenantId}" claim.`);
    }
    return { id: sub, role, tenantId };
  }
  return { id: sub, role };
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds > 1e12) return 'ever';
  if (seconds >= 86_400 && seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds >= 3_600 && seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  return `${seconds} s`;
}

function invalid(message: string): UnauthenticatedError {
  return new UnauthenticatedError('invalidToken', message);
}

/** Maps jose's errors to sentences; never passes the library's message or stack on. */
function translate(error: unknown, accepted: string): Error {
  if (error instanceof errors.JWTExpired) {
    return new UnauthenticatedError('expiredToken', 'The bearer token has expired; get a new one.');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid(`The bearer token has no "${error.claim}" claim.`);
    switch (error.claim) {
      case 'nbf':
        return invalid('The bearer token is not valid yet ("nbf" is in the future); check the issuer\'s clock.');
      case 'iat':
        return invalid('The bearer token claims to be issued in the future; check the issuer\'s clock.');
      case 'iss':
        return invalid('The bearer token was issued by an issuer this service does not trust.');
      case 'aud':
        return invalid('The bearer token is meant for another audience.');
      default:
        return invalid(`The bearer token's "${error.claim}" claim is not valid.`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid(`The bearer token is signed with an algorithm this service does not accept (it accepts ${accepted}).`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid('The bearer token\'s signature does not verify.');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid('The bearer token is signed with a key this service does not know.');
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JWKInvalid) {
    return invalid('The bearer token is malformed; it must be a signed JWT (header.payload.signature).');
  }
  // Anything else (JWKS unreachable, timed out, not a key set) is this service's problem, not the caller's:
  // not a refusal, so the HTTP layer answers 503 and logs it.
  return new AuthUnavailableError(
    'Could not verify the bearer token: the signing keys are unavailable; try again shortly.',
    JWKS_COOLDOWN_SEC,
    { cause: error },
  );
}
