/** Prometheus metrics: request durations by route template and status, plus the process defaults. */
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

const DURATION = 'http_request_duration_seconds';

export interface HttpMetrics {
  registry: Registry;
  /** Times every request; the route label is the matched template (`/v1/claims/:id`), never the raw path. */
  middleware: RequestHandler;
}

export function createHttpMetrics(registry: Registry = new Registry()): HttpMetrics {
  // A registry shared with other apps may already have these.
  if (!registry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });
  const duration =
    (registry.getSingleMetric(DURATION) as Histogram<'method' | 'route' | 'status_code'> | undefined) ??
    new Histogram({
      name: DURATION,
      help: 'HTTP request duration in seconds, by method, route template and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return {
    registry,
    middleware(req, res, next) {
      const end = duration.startTimer();
      res.on('finish', () => {
        const route = (req.route as { path?: unknown } | undefined)?.path;
        end({ method: req.method, route: typeof route === 'string' ? route : 'unmatched', status_code: String(res.statusCode) });
      });
      next();
    },
  };
}
