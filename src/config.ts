/**
 * Service configuration from the environment: read once, validated, and the
 * service refuses to start on a bad value (never a silent fallback).
 */
import { resolve } from 'node:path';
import { POE_MAX_BYTES } from './poe/allowed-poe-types';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  policyPath: string;
  jwtSecret?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  /** OpenID Connect sign-in: the issuer whose discovered jwks_uri verifies access tokens, and the claims carrying role, partner and tenant. */
  oidc?: { issuer: string; clientId: string; scope: string; roleClaim: string; partnerClaim: string; tenantClaim: string };
  jwtMaxLifetimeSeconds: number;
  jwtClockToleranceSeconds: number;
  webhookUrls: string[];
  webhookSecret?: string;
  schedulerIntervalMs: number;
  poeMaxBytes: number;
  poeMaxConcurrentUploads: number;
  poeUploadIdleMs: number;
  poeUploadTimeoutMs: number;
  backtestMaxClaims: number;
  /** Rule results POST /v1/evaluate keeps (LRU); 0 disables the cache. */
  evaluationCacheSize: number;
  /** Days evaluation records stay in the decision log (0: for ever); transitions' records are never pruned. */
  evaluationLogRetentionDays: number;
  /** Share of evaluations the decision log records (0–1, default 1); transitions are always recorded. */
  evaluationLogSample: number;
  idempotencyTtlHours: number;
  idempotencyLeaseSeconds: number;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  /** server.requestTimeout: a whole request (headers and body) must arrive within it. */
  requestTimeoutMs: number;
  /** server.headersTimeout: the request headers must arrive within it. */
  headersTimeoutMs: number;
  /** server.keepAliveTimeout: an idle keep-alive connection is closed after it. */
  keepAliveTimeoutMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
const isLogLevel = (text: string): text is LogLevel => (LOG_LEVELS as readonly string[]).includes(text);

/**
 * Every whole-number setting: its environment variable, default and accepted range. The one
 * place these defaults are written: the service reads them from the environment through this
 * table, and `createApp` (tests, embedders) falls back to the same defaults.
 */
export const INTEGER_SETTINGS = {
  port: { env: 'PORT', default: 8080, min: 0, max: 65_535 },
  jwtMaxLifetimeSeconds: { env: 'JWT_MAX_LIFETIME_SECONDS', default: 86_400, min: 60, max: 31 * 86_400 },
  jwtClockToleranceSeconds: { env: 'JWT_CLOCK_TOLERANCE_SECONDS', default: 60, min: 0, max: 600 },
  schedulerIntervalMs: { env: 'SCHEDULER_INTERVAL_MS', default: 1000, min: 50, max: 3_600_000 },
  poeMaxBytes: { env: 'POE_MAX_BYTES', default: POE_MAX_BYTES, min: 1024, max: 1024 * 1024 * 1024 },
  poeMaxConcurrentUploads: { env: 'POE_MAX_CONCURRENT_UPLOADS', default: 8, min: 1, max: 10_000 },
  poeUploadIdleMs: { env: 'POE_UPLOAD_IDLE_MS', default: 30_000, min: 100, max: 3_600_000 },
  poeUploadTimeoutMs: { env: 'POE_UPLOAD_TIMEOUT_MS', default: 300_000, min: 1000, max: 24 * 3_600_000 },
  backtestMaxClaims: { env: 'BACKTEST_MAX_CLAIMS', default: 50_000, min: 1, max: 10_000_000 },
  evaluationCacheSize: { env: 'EVALUATION_CACHE_SIZE', default: 10_000, min: 0, max: 10_000_000 },
  evaluationLogRetentionDays: { env: 'EVALUATION_LOG_RETENTION_DAYS', default: 0, min: 0, max: 100 * 366 },
  idempotencyTtlHours: { env: 'IDEMPOTENCY_TTL_HOURS', default: 24, min: 1, max: 24 * 365 },
  idempotencyLeaseSeconds: { env: 'IDEMPOTENCY_LEASE_SECONDS', default: 30, min: 1, max: 3_600 },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', default: 10_000, min: 0, max: 600_000 },
  requestTimeoutMs: { env: 'REQUEST_TIMEOUT_MS', default: 120_000, min: 1_000, max: 3_600_000 },
  headersTimeoutMs: { env: 'HEADERS_TIMEOUT_MS', default: 20_000, min: 500, max: 3_600_000 },
  keepAliveTimeoutMs: { env: 'KEEP_ALIVE_TIMEOUT_MS', default: 5_000, min: 100, max: 600_000 },
} as const satisfies Record<string, { env: string; default: number; min: number; max: number }>;

/** Reads and validates the configuration; throws ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv, defaults: { policyPath: string }): Config {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (setting: keyof typeof INTEGER_SETTINGS): number => {
    const { env: name, default: fallback, min, max } = INTEGER_SETTINGS[setting];
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const fraction = (name: string, fallback: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(raw)) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a number from 0 to 1`);
      return fallback;
    }
    return Number(raw);
  };
  const url = (name: string, protocols: string[]) => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name}: expected a ${protocols.join(' or ')} URL, got ${parsed.protocol}`);
      }
    } catch {
      problems.push(`${name}: not a URL`);
    }
    return raw;
  };

  const level = text('LOG_LEVEL') ?? 'info';
  if (!isLogLevel(level)) problems.push(`LOG_LEVEL=${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  const logLevel = isLogLevel(level) ? level : 'info';
  const jwtSecret = text('JWT_SECRET');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) problems.push('JWT_SECRET: must be at least 32 bytes');
  const webhookUrls = (text('WEBHOOK_URLS') ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of webhookUrls) {
    try {
      if (!['http:', 'https:'].includes(new URL(u).protocol)) problems.push(`WEBHOOK_URLS: ${u} is not http(s)`);
    } catch {
      problems.push(`WEBHOOK_URLS: ${JSON.stringify(u)} is not a URL`);
    }
  }
  const webhookSecret = text('WEBHOOK_SECRET');
  if (webhookUrls.length > 0 && !webhookSecret) problems.push('WEBHOOK_SECRET: required when WEBHOOK_URLS is set');

  const oidcIssuer = url('OIDC_ISSUER', ['https:', 'http:']);
  const oidcClientId = text('OIDC_CLIENT_ID');
  if (oidcIssuer !== undefined && oidcClientId === undefined) problems.push('OIDC_CLIENT_ID: required when OIDC_ISSUER is set (the dashboard signs in as this client)');
  if (oidcIssuer !== undefined && text('JWKS_URL') !== undefined) problems.push('OIDC_ISSUER and JWKS_URL: set one (OIDC_ISSUER finds its keys by discovery)');
  const oidc =
    oidcIssuer !== undefined && oidcClientId !== undefined
      ? {
          issuer: oidcIssuer,
          clientId: oidcClientId,
          scope: text('OIDC_SCOPE') ?? 'openid profile',
          roleClaim: text('OIDC_ROLE_CLAIM') ?? 'role',
          partnerClaim: text('OIDC_PARTNER_CLAIM') ?? 'partner_id',
          tenantClaim: text('OIDC_TENANT_CLAIM') ?? 'tenant_id',
        }
      : undefined;

  const config: Config = {
    port: integer('port'),
    host: text('HOST') ?? '127.0.0.1',
    dataDir: resolve(text('DATA_DIR') ?? 'data'),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    policyPath: resolve(text('CPOR_POLICY') ?? defaults.policyPath),
    jwtSecret,
    jwksUrl: url('JWKS_URL', ['https:', 'http:']),
    jwtIssuer: text('JWT_ISSUER'),
    jwtAudience: text('JWT_AUDIENCE'),
    ...(oidc ? { oidc } : {}),
    jwtMaxLifetimeSeconds: integer('jwtMaxLifetimeSeconds'),
    jwtClockToleranceSeconds: integer('jwtClockToleranceSeconds'),
    webhookUrls,
    webhookSecret,
    schedulerIntervalMs: integer('schedulerIntervalMs'),
    poeMaxBytes: integer('poeMaxBytes'),
    poeMaxConcurrentUploads: integer('poeMaxConcurrentUploads'),
    poeUploadIdleMs: integer('poeUploadIdleMs'),
    poeUploadTimeoutMs: integer('poeUploadTimeoutMs'),
    backtestMaxClaims: integer('backtestMaxClaims'),
    evaluationCacheSize: integer('evaluationCacheSize'),
    evaluationLogRetentionDays: integer('evaluationLogRetentionDays'),
    evaluationLogSample: fraction('EVALUATION_LOG_SAMPLE', 1),
    idempotencyTtlHours: integer('idempotencyTtlHours'),
    idempotencyLeaseSeconds: integer('idempotencyLeaseSeconds'),
    logLevel,
    shutdownTimeoutMs: integer('shutdownTimeoutMs'),
    requestTimeoutMs: integer('requestTimeoutMs'),
    headersTimeoutMs: integer('headersTimeoutMs'),
    keepAliveTimeoutMs: integer('keepAliveTimeoutMs'),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    problems.push(`HEADERS_TIMEOUT_MS=${config.headersTimeoutMs}: must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
