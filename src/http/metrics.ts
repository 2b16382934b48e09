/** Prometheus metrics: request durations by route template and status, the process defaults, and the scheduler's work. */
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

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
  // One labels object per method, route and status, made once: the histogram then only looks it up.
  const labelSets = new Map<string, { method: string; route: string; status_code: string }>();
  const labelsOf = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`;
    let labels = labelSets.get(key);
    if (!labels) {
      labels = { method, route, status_code: String(status) };
      // Methods, route templates and statuses are few; the bound is a guard, not a limit met in practice.
      if (labelSets.size < 10_000) labelSets.set(key, labels);
    }
    return labels;
  };
  return {
    registry,
    middleware(req, res, next) {
      const started = performance.now();
      res.on('finish', () => {
        const route = (req.route as { path?: unknown } | undefined)?.path;
        duration.observe(labelsOf(req.method, typeof route === 'string' ? route : 'unmatched', res.statusCode), (performance.now() - started) / 1000);
      });
      next();
    },
  };
}

const DEADLINES_FIRED = 'cpor_deadlines_fired_total';
const WEBHOOKS = 'cpor_webhook_deliveries_total';

/** Counters of the scheduler's work, on the service's registry (also read per instance at /metrics). */
export interface WorkMetrics {
  /** Deadline firings committed by this instance, by event (`reviewStartDue`, …). */
  deadlinesFired: Counter<'event'>;
  /** Webhook delivery attempts by this instance, by outcome (`delivered`, `retried`, `failed`). */
  webhookDeliveries: Counter<'outcome'>;
}

export function createWorkMetrics(registry: Registry): WorkMetrics {
  return {
    deadlinesFired:
      (registry.getSingleMetric(DEADLINES_FIRED) as Counter<'event'> | undefined) ??
      new Counter({ name: DEADLINES_FIRED, help: 'Deadlines fired by this instance, counted as each commits', labelNames: ['event'], registers: [registry] }),
    webhookDeliveries:
      (registry.getSingleMetric(WEBHOOKS) as Counter<'outcome'> | undefined) ??
      new Counter({ name: WEBHOOKS, help: 'Webhook delivery attempts by this instance, by outcome', labelNames: ['outcome'], registers: [registry] }),
  };
}
