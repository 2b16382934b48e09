/**
 * Composition root of the HTTP service: configuration → database → policy →
 * claim service → scheduler → Express app. Everything is wired here and only here.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createHs256Authenticator, createJwksAuthenticator } from './auth/jwt-authenticator';
import { loadOrCreateSecret } from './auth/load-or-create-secret';
import { createClaimService, type Clock } from './claims/claim-service';
import { systemClock } from './system-clock';
import { createDeadlineTask } from './outbox/deadline-task';
import { createScheduler, type Scheduler } from './outbox/scheduler';
import type { Config } from './config';
import { createDatabase, migrateLatest } from './db/database';
import { createKnexClaimStore } from './db/knex-claim-store';
import { createKnexIdempotencyStore } from './db/knex-idempotency-store';
import { createApp, flushDecisionLog } from './http/app';
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
  options: { logger?: Logger; clock?: Clock; startScheduler?: boolean } = {},
): Promise<RunningService> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
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
  const store = createKnexClaimStore(knex);
  const service = createClaimService({ store, policies, clock });

  const authenticator = config.jwksUrl
    ? createJwksAuthenticator({
        jwksUrl: config.jwksUrl,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        maxLifetimeSec: config.jwtMaxLifetimeSeconds,
        clockToleranceSec: config.jwtClockToleranceSeconds,
        roles: () => policies.current(clock.now()).policy.roles,
      })
    : createHs256Authenticator({
        secret: await loadOrCreateSecret(config.dataDir, config.jwtSecret),
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
  const app = createApp({
    service,
    store,
    files,
    idempotency,
    authenticator,
    logger,
    metrics,
    policies,
    limits: {
      poeMaxBytes: config.poeMaxBytes,
      backtestMaxClaims: config.backtestMaxClaims,
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
