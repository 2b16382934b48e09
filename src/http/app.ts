/** The HTTP API: Express 5, every route from one list (which the OpenAPI document is built from too). */
import express from 'express';
import { POE_MAX_BYTES } from '../poe/allowed-poe-types';
import { createAccess } from './access';
import { authRoutes, DEV_TOKEN_LIFETIME_SEC, type AuthSettings } from './auth-routes';
import { backtestRoutes } from './backtest-routes';
import { coverageRoutes } from './coverage-routes';
import { createLocalChangeFeed, type ChangeFeed } from '../changes/change-feed';
import { eventsRoutes } from './events-routes';
import { demoRoutes } from './demo-routes';
import type { SettableClock } from '../system-clock';
import { claimsRoutes } from './claims-routes';
import {
  DEFAULT_BACKTEST_MAX_CLAIMS,
  DEFAULT_JSON_BODY_BYTES,
  DEFAULT_POE_MAX_CONCURRENT_UPLOADS,
  DEFAULT_POE_UPLOAD_IDLE_MS,
  DEFAULT_POE_UPLOAD_TIMEOUT_MS,
  type AppDeps as ServiceDeps,
  type HttpContext,
} from './context';
import { problemHandler, routeNotFound } from './errors';
import { createDecisionQueue, evaluateRoutes, type DecisionQueue } from './evaluate-routes';
import { createHttpMetrics } from './metrics';
import { buildOpenApi, openApiRoute } from './openapi';
import { opsRoutes } from './ops-routes';
import { outboxRoutes } from './outbox-routes';
import { poeRoutes } from './poe-routes';
import { policyCurrentRoutes } from './policy-current-routes';
import { policyEditRoutes } from './policy-edit-routes';
import { policyRoutes, policySourceOf } from './policy-routes';
import { reportRoutes } from './report-routes';
import { decisionLogRoutes } from './decision-log-routes';
import { mountRoutes, type RouteSpec } from './route-spec';
import { securityHeaders } from './security-headers';
import { simulateRoutes } from './simulate-routes';
import { staticApp } from './static-app';

/** What the dashboard's routes add: sign-in settings, the change feed. */
export interface DashboardDeps {
  /** Default: no development sign-in, no OIDC, not in demo mode. */
  auth?: AuthSettings;
  /** The committed changes GET /v1/events streams (the store the service writes through must publish to it: notifyingStore). Default: a feed nothing publishes to. */
  changes?: ChangeFeed;
  /** Demo mode's virtual clock (the claim service's clock), which /v1/demo/clock moves; absent outside demo mode. */
  demoClock?: SettableClock;
  /** Milliseconds between keep-alive comments on an event stream (default 15 s). */
  eventsHeartbeatMs?: number;
}

export type AppDeps = ServiceDeps & DashboardDeps;

const DECISIONS = 'cporDecisionQueue';

/**
 * Waits until the evaluation records the app has queued for the decision log are
 * written: call it after the server stopped taking requests, before closing the store.
 */
export function flushDecisionLog(app: express.Express): Promise<void> {
  return (app.locals[DECISIONS] as DecisionQueue | undefined)?.flush() ?? Promise.resolve();
}

/** Builds the app over its dependencies; it listens nowhere (the caller does). */
export function createApp(deps: AppDeps): express.Express {
  const ctx: HttpContext = {
    deps,
    access: createAccess(() => deps.service.policy.policy),
    idempotency: { store: deps.idempotency, clock: deps.service.clock, logger: deps.logger },
    limits: {
      poeMaxBytes: deps.limits?.poeMaxBytes ?? POE_MAX_BYTES,
      jsonBodyBytes: deps.limits?.jsonBodyBytes ?? DEFAULT_JSON_BODY_BYTES,
      backtestMaxClaims: deps.limits?.backtestMaxClaims ?? DEFAULT_BACKTEST_MAX_CLAIMS,
      poeMaxConcurrentUploads: deps.limits?.poeMaxConcurrentUploads ?? DEFAULT_POE_MAX_CONCURRENT_UPLOADS,
      poeUploadIdleMs: deps.limits?.poeUploadIdleMs ?? DEFAULT_POE_UPLOAD_IDLE_MS,
      poeUploadTimeoutMs: deps.limits?.poeUploadTimeoutMs ?? DEFAULT_POE_UPLOAD_TIMEOUT_MS,
    },
  };
  const metrics = createHttpMetrics(deps.metrics);
  const decisions = createDecisionQueue({ store: deps.store, logger: deps.logger });
  const evaluate = evaluateRoutes(ctx, decisions, { registry: metrics.registry, cacheSize: deps.limits?.evaluationCacheSize, logSample: deps.limits?.evaluationLogSample });

  const routes: RouteSpec[] = [
    ...opsRoutes(ctx, metrics.registry),
    ...authRoutes(ctx, deps.auth ?? { devTokenLifetimeSec: DEV_TOKEN_LIFETIME_SEC, demo: false }),
    ...claimsRoutes(ctx),
    ...eventsRoutes(ctx, deps.changes ?? createLocalChangeFeed(), deps.eventsHeartbeatMs),
    ...poeRoutes(ctx),
    ...outboxRoutes(ctx),
    ...simulateRoutes(ctx),
    ...coverageRoutes(ctx),
    ...evaluate,
    ...policyRoutes(ctx),
    ...policyEditRoutes(ctx),
    ...policyCurrentRoutes(ctx),
    ...reportRoutes(ctx),
    ...decisionLogRoutes(ctx),
    ...backtestRoutes(ctx),
    ...demoRoutes(ctx, deps.demoClock),
  ];
  // Rebuilt when the version in effect or the set of loaded versions changes (a reload, a version
  // taking effect): the document names the version and lists what the versions define.
  const policies = policySourceOf(deps);
  let document: { key: string; json: Record<string, unknown> } | undefined;
  routes.push(
    openApiRoute(() => {
      const { policy } = deps.service.policy;
      const key = JSON.stringify([policy.id, policy.version, policies.list().map((v) => [v.id, v.version, v.digest, v.effective])]);
      if (document?.key !== key) document = { key, json: buildOpenApi(routes, policy) };
      return document.json;
    }),
  );

  const app = express();
  app.locals[DECISIONS] = decisions;
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are claim versions, set by the routes.
  app.set('query parser', 'simple');
  app.use(securityHeaders, metrics.middleware);
  // The router tries routes in order: the most called one first (no route before it matches its path).
  mountRoutes(app, [...evaluate, ...routes.filter((route) => !evaluate.includes(route))]);
  app.use(staticApp({ logger: deps.logger, connectOrigins: deps.auth?.oidc ? [new URL(deps.auth.oidc.issuer).origin] : [] }));
  app.use(routeNotFound(routes));
  app.use(problemHandler(deps.logger));
  return app;
}
