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
  idempotencyLeaseSeconds: number;
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
    idempotencyLeaseSeconds: integer('IDEMPOTENCY_LEASE_SECONDS', 30, 1, 3_600),
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
