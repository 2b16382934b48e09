/** Operations endpoints, without authentication: liveness, readiness, metrics. */
import type { Registry } from 'prom-client';
import type { HttpContext } from './context';
import type { RouteSpec } from './route-spec';

const statusSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { enum: ['ok', 'unavailable'] }, details: { type: 'object' } },
} as const;

export function opsRoutes(ctx: HttpContext, registry: Registry): RouteSpec[] {
  const ready = ctx.deps.ready ?? (async () => ({ ok: true, details: {} }));
  return [
    {
      method: 'get',
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: the process is up',
      tag: 'operations',
      auth: false,
      responses: { 200: { description: 'Up', content: { 'application/json': statusSchema } } },
      problems: [],
      handlers: [
        (_req, res) => {
          res.json({ status: 'ok' });
        },
      ],
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the service can take traffic (database reachable, …)',
      tag: 'operations',
      auth: false,
      responses: {
        200: { description: 'Ready', content: { 'application/json': statusSchema } },
        503: { description: 'Not ready; details say what is missing', content: { 'application/json': statusSchema } },
      },
      problems: [],
      handlers: [
        async (_req, res) => {
          let readiness;
          try {
            readiness = await ready();
          } catch (error) {
            ctx.deps.logger.error({ err: error }, 'readiness check failed');
            readiness = { ok: false, details: { error: 'the readiness check failed; see the service log' } };
          }
          res.status(readiness.ok ? 200 : 503).json({ status: readiness.ok ? 'ok' : 'unavailable', details: readiness.details });
        },
      ],
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tag: 'operations',
      auth: false,
      responses: { 200: { description: 'Metrics', content: { 'text/plain': { type: 'string' } } } },
      problems: [],
      handlers: [
        async (_req, res) => {
          res.type(registry.contentType).send(await registry.metrics());
        },
      ],
    },
  ];
}
