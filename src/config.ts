/**
 * Service configuration from the environment: read once, validated, and the
 * service refuses to start on a bad value (never a silent fallback).
 */
import { resolve } from 'node:path';

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
  idempotencyTtlHours: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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

/** The variables the service reads, with their meaning (README's configuration table). */
export const CONFIG_VARIABLES = [
  ['PORT', '8080', 'TCP port of the HTTP server (0 picks a free one).'],
  ['HOST', '127.0.0.1', 'Interface to listen on (0.0.0.0 for all).'],
  ['DATA_DIR', './data', 'Where the SQLite file, PoE files and the generated JWT secret live.'],
  ['DATABASE_URL', '(unset: SQLite)', 'postgres://… to use PostgreSQL (several instances may share it).'],
  ['CPOR_POLICY', 'policies/ (bundled)', 'A policy file, or a directory of policy versions (*.yaml with `effective` instants); watched and reloaded.'],
  ['JWT_SECRET', '(generated into DATA_DIR)', 'HS256 secret for bearer tokens, at least 32 bytes.'],
  ['JWKS_URL', '(unset)', 'Verify RS256/ES256 tokens against this JWKS instead of a shared secret (production).'],
  ['JWT_ISSUER', '(unset)', 'Required `iss` of tokens, when set.'],
  ['JWT_AUDIENCE', '(unset)', 'Required `aud` of tokens, when set.'],
  ['JWT_MAX_LIFETIME_SECONDS', '86400', 'Longest token lifetime accepted (exp − iat); tokens without iat or exp, or valid longer, are refused.'],
  ['JWT_CLOCK_TOLERANCE_SECONDS', '60', 'Clock skew allowed on exp, nbf and iat (a token issued further in the future is refused).'],
  ['WEBHOOK_URLS', '(unset)', 'Comma-separated URLs that receive outbox messages (signed).'],
  ['WEBHOOK_SECRET', '(required with WEBHOOK_URLS)', 'HMAC secret for webhook signatures.'],
  ['SCHEDULER_INTERVAL_MS', '1000', 'How often due deadlines and webhook deliveries are checked.'],
  ['POE_MAX_BYTES', '10485760', 'Largest PoE upload accepted, in bytes.'],
  ['POE_MAX_CONCURRENT_UPLOADS', '8', 'PoE uploads received at once; more answer 503 with Retry-After.'],
  ['POE_UPLOAD_IDLE_MS', '30000', 'An upload that sends nothing this long is cut off (408) and its file removed.'],
  ['POE_UPLOAD_TIMEOUT_MS', '300000', 'An upload whose body takes longer than this is cut off (408) and its file removed.'],
  ['BACKTEST_MAX_CLAIMS', '50000', 'Most claims one POST /v1/backtest may replay (larger runs: `cpor backtest`).'],
  ['IDEMPOTENCY_TTL_HOURS', '24', 'How long an Idempotency-Key is remembered (a retry after that runs again).'],
  ['LOG_LEVEL', 'info', 'pino level: fatal, error, warn, info, debug, trace, silent.'],
  ['SHUTDOWN_TIMEOUT_MS', '10000', 'How long SIGTERM waits for requests in flight.'],
  ['REQUEST_TIMEOUT_MS', '120000', 'A request (headers and body, uploads included) must arrive within this; else 408 and the connection closes.'],
  ['HEADERS_TIMEOUT_MS', '20000', 'Request headers must arrive within this (at most REQUEST_TIMEOUT_MS); else 408.'],
  ['KEEP_ALIVE_TIMEOUT_MS', '5000', 'An idle keep-alive connection is closed after this.'],
] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads and validates the configuration; throws ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv, defaults: { policyPath: string }): Config {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
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

  const logLevel = (text('LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
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

  const config: Config = {
    port: integer('PORT', 8080, 0, 65535),
    host: text('HOST') ?? '127.0.0.1',
    dataDir: resolve(text('DATA_DIR') ?? 'data'),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    policyPath: resolve(text('CPOR_POLICY') ?? defaults.policyPath),
    jwtSecret,
    jwksUrl: url('JWKS_URL', ['https:', 'http:']),
    jwtIssuer: text('JWT_ISSUER'),
    jwtAudience: text('JWT_AUDIENCE'),
    jwtMaxLifetimeSeconds: integer('JWT_MAX_LIFETIME_SECONDS', 86_400, 60, 31 * 86_400),
    jwtClockToleranceSeconds: integer('JWT_CLOCK_TOLERANCE_SECONDS', 60, 0, 600),
    webhookUrls,
    webhookSecret,
    schedulerIntervalMs: integer('SCHEDULER_INTERVAL_MS', 1000, 50, 3_600_000),
    poeMaxBytes: integer('POE_MAX_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    poeMaxConcurrentUploads: integer('POE_MAX_CONCURRENT_UPLOADS', 8, 1, 10_000),
    poeUploadIdleMs: integer('POE_UPLOAD_IDLE_MS', 30_000, 100, 3_600_000),
    poeUploadTimeoutMs: integer('POE_UPLOAD_TIMEOUT_MS', 300_000, 1000, 24 * 3_600_000),
    backtestMaxClaims: integer('BACKTEST_MAX_CLAIMS', 50_000, 1, 10_000_000),
    idempotencyTtlHours: integer('IDEMPOTENCY_TTL_HOURS', 24, 1, 24 * 365),
    logLevel,
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', 120_000, 1_000, 3_600_000),
    headersTimeoutMs: integer('HEADERS_TIMEOUT_MS', 20_000, 500, 3_600_000),
    keepAliveTimeoutMs: integer('KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    problems.push(`HEADERS_TIMEOUT_MS=${config.headersTimeoutMs}: must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
