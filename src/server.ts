/**
 * Composition root of the HTTP service: configuration → database → policy →
 * claim service → scheduler → Express app. Everything is wired here and only here.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createHs256Authenticator, createJwksAuthenticator, createOidcAuthenticator } from './auth/jwt-authenticator';
import { loadOrCreateSecret } from './auth/load-or-create-secret';
import { createClaimService, type Clock } from './claims/claim-service';
import { createSettableClock, systemClock } from './system-clock';
import { seedDemoClaims } from './demo/seed-demo-claims';
import { createDeadlineTask } from './outbox/deadline-task';
import { createDecisionRetentionTask } from './evaluation/decision-retention';
import { createScheduler, type Scheduler } from './outbox/scheduler';
import type { Config } from './config';
import { createDatabase, migrateLatest } from './db/database';
import { createKnexClaimStore } from './db/knex-claim-store';
import { createLocalChangeFeed, notifyingStore, type ChangeFeed } from './changes/change-feed';
import { createKnexIdempotencyStore } from './db/knex-idempotency-store';
import { createApp, flushDecisionLog } from './http/app';
import { DEV_TOKEN_LIFETIME_SEC } from './http/auth-routes';
import { handleClientErrors } from './http/client-error';
import { createWorkMetrics } from './http/metrics';
import { createFsPoeFileStore } from './poe/fs-poe-file-store';
import { createPolicyRegistry, type PolicyRegistry } from './policies/policy-registry';
import { createWebhookDispatcher } from './outbox/webhook-dispatcher';

export interface RunningService {
  url: string;
  server: Server;
  service: ReturnType<typeof createClaimService>;
  policies: PolicyRegistry;
  scheduler: Scheduler;
  logger: Logger;
  /** Stops taking requests, lets those in flight finish, stops the scheduler and closes the database. */
  close(): Promise<void>;
}


export async function startService(
  config: Config,
  options: { logger?: Logger; clock?: Clock; startScheduler?: boolean; demo?: boolean } = {},
): Promise<RunningService> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  // Demo mode: a virtual clock that runs from now and that /v1/demo/clock moves forward.
  const demoClock = options.demo ? createSettableClock(options.clock?.now()) : undefined;
  const clock = demoClock ?? options.clock ?? systemClock;
  // Policy versions: validated before use; a broken change keeps the last good version in service.
  const policies = await createPolicyRegistry({
    path: config.policyPath,
    clock: systemClock,
    onLog: (level, message, details) => logger[level](details ?? {}, message),
  });
  const policy = policies.current(clock.now());
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const knex = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateLatest(knex);
  } catch (error) {
    await knex.destroy();
    throw error;
  }
  // Live views hear of every committed change: across instances on PostgreSQL, in this process on SQLite.
  let changes: ChangeFeed;
  try {
    // Loaded only for PostgreSQL: on SQLite the pg driver is never read.
    changes = config.databaseUrl
      ? await (await import('./changes/postgres-change-feed')).createPostgresChangeFeed({ databaseUrl: config.databaseUrl, logger })
      : createLocalChangeFeed();
  } catch (error) {
    await knex.destroy();
    throw error;
  }
  const store = notifyingStore(createKnexClaimStore(knex), changes);
  const service = createClaimService({ store, policies, clock, log: (level, message, details) => logger[level](details ?? {}, message) });

  // Development sign-in exists only while the service signs with the secret it generated itself.
  const devSecret = config.jwksUrl || config.jwtSecret || config.oidc ? undefined : await loadOrCreateSecret(config.dataDir);
  const roles = () => policies.current(clock.now()).policy.roles;
  const authenticator = config.oidc
    ? createOidcAuthenticator({
        issuer: config.oidc.issuer,
        audience: config.jwtAudience,
        claims: { role: config.oidc.roleClaim, partnerId: config.oidc.partnerClaim, tenantId: config.oidc.tenantClaim },
        maxLifetimeSec: config.jwtMaxLifetimeSeconds,
        clockToleranceSec: config.jwtClockToleranceSeconds,
        roles,
      })
    : config.jwksUrl
    ? createJwksAuthenticator({
        jwksUrl: config.jwksUrl,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        maxLifetimeSec: config.jwtMaxLifetimeSeconds,
        clockToleranceSec: config.jwtClockToleranceSeconds,
        roles: () => policies.current(clock.now()).policy.roles,
      })
    : createHs256Authenticator({
        secret: devSecret ?? (await loadOrCreateSecret(config.dataDir, config.jwtSecret)),
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        maxLifetimeSec: config.jwtMaxLifetimeSeconds,
        clockToleranceSec: config.jwtClockToleranceSeconds,
        roles: () => policies.current(clock.now()).policy.roles,
      });

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const work = createWorkMetrics(metrics);
  let lastSchedulerError: string | null = null;

  const idempotency = createKnexIdempotencyStore(knex, { leaseSeconds: config.idempotencyLeaseSeconds });
  const HOUR_MS = 3_600_000;
  let lastPurge = 0;

  const dispatcher = createWebhookDispatcher({
    store,
    urls: config.webhookUrls,
    secret: config.webhookSecret ?? '',
    clock,
    logger,
    onAttempt: (outcome) => work.webhookDeliveries.inc({ outcome }),
  });
  const scheduler = createScheduler(
    [
      createDeadlineTask({ service, logger, fired: work.deadlinesFired }),
      ...(config.webhookUrls.length ? [{ name: 'webhooks', run: () => dispatcher.deliverDue() }] : []),
      createDecisionRetentionTask({ store, clock, retentionDays: config.evaluationLogRetentionDays, logger }),
      {
        // Idempotency keys are kept IDEMPOTENCY_TTL_HOURS; swept at most hourly.
        name: 'idempotency',
        run: async () => {
          const now = clock.now().getTime();
          if (now - lastPurge < HOUR_MS) return;
          lastPurge = now;
          const purged = await idempotency.purge(new Date(now - config.idempotencyTtlHours * HOUR_MS).toISOString());
          if (purged) logger.info({ purged }, 'idempotency keys expired');
        },
      },
    ],
    {
      intervalMs: config.schedulerIntervalMs,
      logger: {
        error: (obj, message) => {
          lastSchedulerError = new Date().toISOString();
          logger.error(obj, message);
        },
      },
    },
  );

  const files = createFsPoeFileStore(join(config.dataDir, 'poe'));
  // Uploads a crash broke off; one still being received anywhere is younger than this.
  const swept = await files.sweepStaging(config.poeUploadTimeoutMs + config.poeUploadIdleMs);
  if (swept) logger.info({ swept }, 'stale staged uploads removed');
  if (demoClock) {
    const seeded = await seedDemoClaims({ service, files, clock: demoClock });
    logger.info({ claims: seeded }, 'demo claims created');
  }
  const app = createApp({
    service,
    store,
    files,
    idempotency,
    authenticator,
    logger,
    metrics,
    policies,
    changes,
    ...(demoClock ? { demoClock } : {}),
    auth: {
      ...(devSecret ? { devSecret } : {}),
      devTokenLifetimeSec: Math.min(DEV_TOKEN_LIFETIME_SEC, config.jwtMaxLifetimeSeconds),
      demo: demoClock !== undefined,
      ...(config.oidc ? { oidc: { issuer: config.oidc.issuer, clientId: config.oidc.clientId, scope: config.oidc.scope } } : {}),
      ...(config.jwtIssuer !== undefined ? { issuer: config.jwtIssuer } : {}),
      ...(config.jwtAudience !== undefined ? { audience: config.jwtAudience } : {}),
    },
    limits: {
      poeMaxBytes: config.poeMaxBytes,
      backtestMaxClaims: config.backtestMaxClaims,
      evaluationCacheSize: config.evaluationCacheSize,
      evaluationLogSample: config.evaluationLogSample,
      poeMaxConcurrentUploads: config.poeMaxConcurrentUploads,
      poeUploadIdleMs: config.poeUploadIdleMs,
      poeUploadTimeoutMs: config.poeUploadTimeoutMs,
    },
    ready: async () => {
      try {
        await knex.raw('select 1');
      } catch (error) {
        return { ok: false, details: { database: 'unreachable', error: (error as Error).message } };
      }
      const status = policies.status();
      const inEffect = policies.current(clock.now()).policy;
      return {
        ok: true,
        details: {
          database: config.databaseUrl ? 'postgresql' : 'sqlite',
          policy: { id: inEffect.id, version: inEffect.version },
          // A broken policy file does not make the service unready: it keeps the last good version.
          policies: { versions: status.versions.length, broken: status.broken, lastReloadAt: status.lastReloadAt },
          lastSchedulerError,
        },
      };
    },
  });

  const server = createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      // Node checks those timeouts on this interval (default 30 s): often enough that they hold.
      connectionsCheckingInterval: Math.min(1_000, Math.floor(config.headersTimeoutMs / 2)),
    },
    app,
  );
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  handleClientErrors(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // Nothing is left running: no scheduler, no watcher, no database handle.
    policies.stop();
    await changes.close();
    await knex.destroy();
    throw new Error(listenFailure(error as NodeJS.ErrnoException, config.host, config.port), { cause: error });
  }
  const address = server.address();
  const url = typeof address === 'object' && address ? `http://${config.host}:${address.port}` : String(address);
  if (options.startScheduler !== false) scheduler.start();
  policies.watch();
  logger.info({ url, policy: `${policy.policy.id} ${policy.policy.version}`, database: config.databaseUrl ? 'postgresql' : 'sqlite' }, 'cpor service listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Event streams never finish by themselves: end them so the requests in flight can drain.
      await changes.close();
      const timeout = new Promise<void>((resolve) =>
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, config.shutdownTimeoutMs).unref(),
      );
      await Promise.race([drained, timeout]);
      policies.stop();
      await scheduler.stop();
      // Evaluation records are written after their responses: let the last ones land.
      await flushDecisionLog(app);
      await knex.destroy();
      logger.info('cpor service stopped');
    })());

  return { url, server, service, policies, scheduler, logger, close };
}

/** Why the server could not listen, naming the port and the interface. */
function listenFailure(error: NodeJS.ErrnoException, host: string, port: number): string {
  if (error.code === 'EADDRINUSE') return `port ${port} on ${host} is already in use (EADDRINUSE); stop what listens there or set PORT`;
  if (error.code === 'EACCES') return `no permission to listen on port ${port} on ${host} (EACCES); use a port above 1023 or set PORT`;
  if (error.code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine (EADDRNOTAVAIL); set HOST`;
  return `cannot listen on port ${port} on ${host}: ${error.message}`;
}
