/** Development tokens (`cpor token`): HS256 JWTs the HS256 authenticator accepts. */
import { SignJWT } from 'jose';
import { DEFAULT_MAX_LIFETIME_SEC } from './jwt-authenticator';

export interface MintTokenOptions {
  secret: Uint8Array;
  role: string;
  partnerId?: string;
  tenantId?: string;
  /** The token's `sub`; default `dev:<role>[:<partnerId or tenantId>]`. */
  subject?: string;
  /** The person's display name (`name` claim). */
  name?: string;
  /** Seconds, or a duration such as `1h`, `30m`, `7d`, `2 weeks`; default `1h`. */
  expiresIn?: string | number;
  /** The service's JWT_MAX_LIFETIME_SECONDS: a longer `expiresIn` is refused, since the service would refuse the token. */
  maxLifetimeSeconds?: number;
  issuer?: string;
  audience?: string;
  now?: () => Date;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };
const UNIT_ALIASES: Record<string, string> = {
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  d: 'd', day: 'd', days: 'd',
  w: 'w', week: 'w', weeks: 'w',
};

/** Signs an HS256 token with `sub`, `role`, `partnerId?`, `tenantId?`, `iat`, `exp`, `iss?`, `aud?`. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  if (options.role.trim() === '') throw new Error('A token needs a role.');
  const issuedAt = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const lifetime = parseDurationSeconds(options.expiresIn ?? '1h');
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SEC;
  if (lifetime > maxLifetime) {
    throw new Error(
      `A token valid for ${lifetime} s would be refused: the service accepts tokens valid for at most ${maxLifetime} s (JWT_MAX_LIFETIME_SECONDS).`,
    );
  }
  const claims: Record<string, string> = { role: options.role };
  if (options.partnerId !== undefined) claims.partnerId = options.partnerId;
  if (options.tenantId !== undefined) claims.tenantId = options.tenantId;
  if (options.name !== undefined) claims.name = options.name;
  const subject =
    options.subject ?? ['dev', options.role, options.partnerId ?? options.tenantId].filter(Boolean).join(':');
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + lifetime);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  return jwt.sign(options.secret);
}

/** Seconds in a token lifetime: a positive number of seconds, or `<n><unit>` (s, m, h, d, w and their long forms). */
export function parseDurationSeconds(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`A token lifetime must be a positive number of seconds; got ${value}.`);
    return Math.floor(value);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value);
  const unit = match && UNIT_ALIASES[match[2]!.toLowerCase()];
  const seconds = match && unit ? Math.floor(Number(match[1]) * UNIT_SECONDS[unit]!) : NaN;
  if (!(seconds > 0)) {
    throw new Error(`"${value}" is not a token lifetime; use a number with s, m, h, d or w (for example 1h or 30m).`);
  }
  return seconds;
}
