/**
 * The real HTTP app for integration tests: the bundled policy, a virtual clock, real
 * HS256 tokens, PoE files in a temporary folder, and a store from one of the test
 * databases (memory unless told otherwise). Logs are kept for assertions.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { pino, type Logger } from 'pino';
import { createHs256Authenticator } from '../../src/auth/jwt-authenticator';
import { mintToken } from '../../src/auth/mint-token';
import { createClaimService, type ClaimService } from '../../src/claims/claim-service';
import { createApp, type AppDeps } from '../../src/http/app';
import type { AuthSettings } from '../../src/http/auth-routes';
import { notifyingStore, type ChangeFeed } from '../../src/changes/change-feed';
import type { IdempotencyStore } from '../../src/idempotency/idempotency-store';
import { createFsPoeFileStore } from '../../src/poe/fs-poe-file-store';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from './bundled-policy';
import { memoryDatabase, type DatabaseFixture, type StoreSetup } from './databases';

/** Monday 2 March 2026, 09:00 in Los Angeles. */
export const TEST_START = '2026-03-02T17:00:00.000Z';

/** The longest token lifetime the test app accepts: ten years (see createTestApp). */
const TEST_TOKEN_MAX_LIFETIME_SEC = 3650 * 86_400;

export interface TokenClaims {
  role: string;
  partnerId?: string;
  tenantId?: string;
  /** The token's subject; default derived from role and ids. */
  id?: string;
}

export interface TestAppOptions {
  database?: DatabaseFixture;
  start?: string;
  limits?: AppDeps['limits'];
  ready?: AppDeps['ready'];
  /** Wraps the idempotency store (to hold a request in flight, say). */
  wrapIdempotency?: (store: IdempotencyStore) => IdempotencyStore;
  /** Policy versions for the service and the app (a registry over a folder, say); default the bundled policy alone. */
  policies?: AppDeps['policies'];
  /** Sign-in settings; `devSignIn` signs development tokens with the app's secret (on the virtual clock). */
  auth?: Partial<Omit<AuthSettings, 'devSecret'>> & { devSignIn?: boolean };
  /** A change feed the store publishes committed changes to, and GET /v1/events streams. */
  changes?: ChangeFeed;
  eventsHeartbeatMs?: number;
}

export interface TestApp {
  app: Express;
  clock: ReturnType<typeof createVirtualClock>;
  service: ClaimService;
  store: StoreSetup['store'];
  idempotency: IdempotencyStore;
  /** A bearer token (the `Authorization` header's value without `Bearer `); valid for years unless told otherwise. */
  token(claims: TokenClaims, options?: { expiresIn?: string; issuedAt?: Date }): Promise<string>;
  /** `Bearer <token>` for claims. */
  bearer(claims: TokenClaims): Promise<string>;
  /** Moves the clock and fires the deadlines that fell due, as the scheduler would. */
  advance(to: string): Promise<void>;
  /** The folder the PoE files are stored under. */
  poeDir: string;
  /** Log lines the app wrote (JSON objects). */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const policy = await compiledBundledPolicy();
  const clock = createVirtualClock(new Date(options.start ?? TEST_START));
  const database = await (options.database ?? memoryDatabase).setup();
  const store = options.changes ? notifyingStore(database.store, options.changes) : database.store;
  const { logger, logs } = capturingLogger();
  const log = (level: 'warn' | 'error', message: string, details?: object) => logger[level](details ?? {}, message);
  const service = options.policies
    ? createClaimService({ store, policies: options.policies, clock, log })
    : createClaimService({ store, policy, clock, log });
  const secret = new Uint8Array(randomBytes(32));
  // Test tokens outlive the virtual clock's jumps of months, so this app accepts lifetimes of years;
  // the service's default maximum (a day) is tested against a real server.
  const authenticator = createHs256Authenticator({
    secret,
    roles: policy.policy.roles,
    now: () => clock.now(),
    maxLifetimeSec: TEST_TOKEN_MAX_LIFETIME_SEC,
  });
  const dir = mkdtempSync(join(tmpdir(), 'cpor-http-'));
  const idempotency = options.wrapIdempotency ? options.wrapIdempotency(database.idempotency) : database.idempotency;
  const app = createApp({
    service,
    store,
    files: createFsPoeFileStore(join(dir, 'poe')),
    idempotency,
    authenticator,
    logger,
    ...(options.ready ? { ready: options.ready } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.policies ? { policies: options.policies } : {}),
    ...(options.auth ? { auth: testAuthSettings(options.auth, secret, () => clock.now()) } : {}),
    ...(options.changes ? { changes: options.changes } : {}),
    ...(options.eventsHeartbeatMs ? { eventsHeartbeatMs: options.eventsHeartbeatMs } : {}),
  });
  const token = (claims: TokenClaims, options: { expiresIn?: string; issuedAt?: Date } = {}) =>
    mintTestToken(secret, claims, {
      expiresIn: options.expiresIn ?? '3650d',
      maxLifetimeSeconds: TEST_TOKEN_MAX_LIFETIME_SEC,
      now: () => options.issuedAt ?? clock.now(),
    });
  return {
    app,
    clock,
    service,
    store,
    idempotency,
    token,
    bearer: async (claims) => `Bearer ${await token(claims)}`,
    async advance(to) {
      clock.set(new Date(to));
      await service.fireDue();
    },
    poeDir: join(dir, 'poe'),
    logs,
    async close() {
      await database.teardown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function testAuthSettings(
  { devSignIn, ...rest }: NonNullable<TestAppOptions['auth']>,
  secret: Uint8Array,
  now: () => Date,
): AuthSettings {
  return { devTokenLifetimeSec: 3600, demo: false, now, ...rest, ...(devSignIn ? { devSecret: secret } : {}) };
}

/** A pino logger whose lines are kept, parsed, for assertions. */
export function capturingLogger(level: 'info' | 'debug' = 'info'): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { logger, logs };
}

/** A token for test claims, signed with `secret` (the ids a claim set leaves out are left out). */
export function mintTestToken(
  secret: Uint8Array,
  claims: TokenClaims,
  options: { expiresIn?: string; maxLifetimeSeconds?: number; now?: () => Date } = {},
): Promise<string> {
  return mintToken({
    secret,
    role: claims.role,
    ...(claims.partnerId !== undefined ? { partnerId: claims.partnerId } : {}),
    ...(claims.tenantId !== undefined ? { tenantId: claims.tenantId } : {}),
    ...(claims.id !== undefined ? { subject: claims.id } : {}),
    ...options,
  });
}
