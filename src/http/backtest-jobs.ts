/**
 * Backtests as jobs (the policy console's backtest page): POST starts one and answers at
 * once; its progress streams as server-sent events; the report (CSV, JSON, JSON Lines) is
 * written to temporary files as results come and read back as downloads or a paged table.
 * The streaming, parallel backtest runs on the app's worker pool (its size, heap and time
 * budgets); one backtest at a time per process, as POST /v1/backtest.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RequestHandler, Response } from 'express';
import type { ClaimBacktest } from '../backtest/backtest';
import { storeClaimSource } from '../backtest/claim-source';
import { createReportWriter, type ReportHead, type ReportWriter } from '../backtest/report-stream';
import type { LatencyFigures, StreamTotals } from '../backtest/stream-backtest';
import { ConflictError, DomainError, InputError } from '../domain/errors';
import type { Policy } from '../rules/policy-types';
import { shipPolicies } from '../simulate/shipped-policies';
import { runParallelBacktest, streamSink } from '../workers/parallel-backtest';
import { WorkBudgetError, workerPoolFor } from '../workers/worker-pool';
import { authenticate } from './auth';
import type { HttpContext } from './context';
import { HttpError } from './errors';
import { policySourceOf } from './policy-routes';
import { param, type RouteSpec } from './route-spec';
import { validateInput, validateQuery } from './validation';

/** Jobs kept (with their report files) per app; the oldest finished one goes first. */
const MAX_JOBS = 8;
const DEFAULT_TIMEOUT_MS = 600_000;
const FORMATS = { csv: 'text/csv; charset=utf-8; header=present', json: 'application/json', jsonl: 'application/jsonl' } as const;
type Format = keyof typeof FORMATS;

interface Job {
  id: string;
  head: ReportHead;
  status: 'running' | 'done' | 'failed';
  done: number;
  total: number;
  totals: StreamTotals | null;
  latency: LatencyFigures | null;
  error: { code: string; message: string } | null;
  dir: string;
  listeners: Set<(event: string, data: unknown) => void>;
}

const jobsByApp = new WeakMap<object, Map<string, Job>>();

const jobView = (job: Job) => ({
  id: job.id,
  status: job.status,
  done: job.done,
  total: job.total,
  ...job.head,
  totals: job.totals,
  latency: job.latency,
  error: job.error,
  links: {
    events: `/v1/backtest/jobs/${job.id}/events`,
    claims: `/v1/backtest/jobs/${job.id}/claims`,
    report: `/v1/backtest/jobs/${job.id}/report`,
  },
});

const figures = { type: 'object', properties: { medianMs: { type: 'number' }, p90Ms: { type: 'number' }, meanMs: { type: 'number' } } } as const;
const pairs = (nullable: boolean) =>
  ({
    type: 'array',
    items: {
      type: 'object',
      properties: {
        before: nullable ? { type: ['string', 'null'] } : { type: 'string' },
        after: nullable ? { type: ['string', 'null'] } : { type: 'string' },
        claims: { type: 'integer' },
      },
    },
  }) as const;
const jobSchema = {
  type: 'object',
  required: ['id', 'status', 'done', 'total', 'candidate', 'until', 'since', 'totals', 'latency', 'error', 'links'],
  properties: {
    id: { type: 'string' },
    status: { enum: ['running', 'done', 'failed'] },
    done: { type: 'integer', description: 'Claims replayed so far.' },
    total: { type: 'integer', description: 'Claims the backtest reads.' },
    candidate: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
    until: { type: 'string' },
    since: { type: ['string', 'null'] },
    totals: {
      type: ['object', 'null'],
      description: 'When done: counts, changed fields, claims per status and per reason before → after.',
      properties: {
        claims: { type: 'integer' },
        changed: { type: 'integer' },
        unchanged: { type: 'integer' },
        skipped: { type: 'integer' },
        byField: { type: 'object', additionalProperties: { type: 'integer' } },
        byStatus: pairs(false),
        byReason: pairs(true),
        durationMs: { type: 'number' },
      },
    },
    latency: {
      type: ['object', 'null'],
      description: "The baseline's and the candidate's replay time per claim on the same claims, and the candidate's increase in percent.",
      properties: { claims: { type: 'integer' }, baseline: figures, candidate: figures, increasePct: { type: 'number' } },
    },
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
    links: { type: 'object', properties: { events: { type: 'string' }, claims: { type: 'string' }, report: { type: 'string' } } },
  },
} as const;

export interface BacktestJobRouteOptions {
  readersOnly: RequestHandler;
  bodyParsers: RequestHandler[];
  readCandidate(body: unknown, query: { since?: string; until?: string }): { policy: Policy; untilAt: Date; sinceAt: Date | undefined };
  query: { properties: Record<string, object> };
  claimSchema: object;
  isRunning(): boolean;
  setRunning(running: boolean): void;
}

export function backtestJobRoutes(ctx: HttpContext, options: BacktestJobRouteOptions): RouteSpec[] {
  const { deps } = ctx;
  const { store } = deps;
  const policies = policySourceOf(deps);
  const maxClaims = ctx.limits.backtestMaxClaims;
  let jobs = jobsByApp.get(deps);
  if (!jobs) jobsByApp.set(deps, (jobs = new Map()));
  const all = jobs;

  const find = (id: string): Job => {
    const job = all.get(id);
    if (!job) throw new HttpError('backtestJobNotFound', `No backtest job ${id} (jobs are kept in this process, the last ${MAX_JOBS}).`);
    return job;
  };
  const finished = (job: Job): Job => {
    if (job.status === 'running') throw new ConflictError('backtestRunning', `Backtest job ${job.id} is still running; follow its events.`);
    if (job.status === 'failed') throw new ConflictError('backtestRunning', `Backtest job ${job.id} failed: ${job.error?.message ?? ''}`);
    return job;
  };
  const emit = (job: Job, event: string, data: unknown) => {
    for (const listener of job.listeners) listener(event, data);
  };

  const start = (candidate: Policy, untilAt: Date, sinceAt: Date | undefined, total: number): Job => {
    for (const [id, old] of all) {
      if (all.size < MAX_JOBS) break;
      if (old.status === 'running') continue;
      all.delete(id);
      rmSync(old.dir, { recursive: true, force: true });
    }
    const head: ReportHead = {
      candidate: { id: candidate.id, version: candidate.version },
      until: untilAt.toISOString(),
      since: sinceAt ? sinceAt.toISOString() : null,
    };
    const job: Job = {
      id: randomUUID(),
      head,
      status: 'running',
      done: 0,
      total,
      totals: null,
      latency: null,
      error: null,
      dir: mkdtempSync(join(tmpdir(), 'cpor-backtest-job-')),
      listeners: new Set(),
    };
    all.set(job.id, job);
    const streams: WriteStream[] = [];
    const writers: ReportWriter[] = (Object.keys(FORMATS) as Format[]).map((format) => {
      const stream = createWriteStream(join(job.dir, `report.${format}`));
      streams.push(stream);
      return createReportWriter(format, head, streamSink(stream));
    });
    const limits = deps.limits?.workers;
    const pool = workerPoolFor(deps, limits);
    options.setRunning(true);
    let lastEmit = 0;
    void runParallelBacktest({
      source: storeClaimSource(store, sinceAt),
      pool,
      workers: Math.max(1, (limits?.size ?? 2) - pool.running()),
      candidate,
      policies: shipPolicies(policies, untilAt),
      until: untilAt,
      ...(sinceAt ? { since: sinceAt } : {}),
      latency: true,
      maxClaims,
      timeoutMs: limits?.backtestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      onResult: async (result) => {
        for (const writer of writers) await writer.claim(result);
      },
      onProgress: (done, all) => {
        job.done = done;
        job.total = all;
        // At most ten progress events a second, and always the last.
        const now = Date.now();
        if (done < all && now - lastEmit < 100) return;
        lastEmit = now;
        emit(job, 'progress', { done, total: all });
      },
    })
      .then(async (result) => {
        for (const writer of writers) await writer.end(result);
        await Promise.all(streams.map((stream) => new Promise<void>((resolve) => stream.end(resolve))));
        job.totals = result.totals;
        job.latency = result.latency;
        job.status = 'done';
      })
      .catch(async (error: unknown) => {
        await Promise.all(streams.map((stream) => new Promise<void>((resolve) => stream.end(resolve))));
        job.status = 'failed';
        job.error =
          error instanceof WorkBudgetError
            ? { code: 'backtestTooExpensive', message: `The backtest was stopped: ${error.message}; narrow it with since or until.` }
            : error instanceof DomainError
              ? { code: error.code, message: error.message }
              : { code: 'internal', message: 'The backtest failed.' };
        if (!(error instanceof WorkBudgetError || error instanceof DomainError)) deps.logger.error({ err: error }, 'backtest job failed');
      })
      .finally(() => {
        options.setRunning(false);
        emit(job, job.status, jobView(job));
        job.listeners.clear();
      });
    return job;
  };

  const jobBodySchema = {
    type: 'object',
    additionalProperties: false,
    properties: {
      policy: { type: 'string', minLength: 1, description: 'The candidate policy, as YAML text (or give version, not both).' },
      version: { type: 'string', minLength: 1, description: 'A loaded policy version (of the program in effect) as the candidate, instead of policy.' },
      ...options.query.properties,
    },
  } as const;
  /** A loaded version as the candidate (`{ version }`), or the candidate's text as POST /v1/backtest takes it. */
  const readJobCandidate = (body: unknown, query: { since?: string; until?: string }) => {
    if (body && typeof body === 'object' && 'version' in body) {
      if ('policy' in body) throw new InputError('invalidPayload', 'Give the candidate as policy (YAML text) or as version (a loaded version), not both.', '$.version');
      const { version, ...rest } = validateInput<{ version: string; since?: string; until?: string }>(jobBodySchema, body);
      const untilAt = rest.until !== undefined ? new Date(rest.until) : deps.service.clock.now();
      const programId = policies.current(untilAt).policy.id;
      const compiled = policies.get({ id: programId, version });
      if (!compiled) throw new HttpError('unknownPolicyVersion', `No loaded version ${version} of policy ${programId}.`);
      const { policy: _ignored, ...dates } = options.readCandidate({ ...rest, policy: 'unused' }, query);
      return { ...dates, policy: compiled.policy };
    }
    return options.readCandidate(body, query);
  };

  const jobParams = { id: { type: 'string', format: 'uuid' } };
  const pageQuery = {
    properties: {
      offset: { type: 'integer', minimum: 0, default: 0 },
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
      changed: { type: 'boolean', description: 'Only the claims that change (true) or that do not (false).' },
    },
  } as const;
  const reportQuery = { properties: { format: { enum: ['csv', 'json', 'jsonl'], default: 'csv' } } } as const;
  const auth = authenticate(deps.authenticator);

  return [
    {
      method: 'post',
      path: '/v1/backtest/jobs',
      operationId: 'startBacktestJob',
      summary: 'Start a backtest of a candidate policy; follow its progress and read its report (program managers, reviewers)',
      description:
        'The body is as for POST /v1/backtest. Answers 202 at once with the job; `GET …/events` streams its progress ' +
        '(server-sent events), `GET …/claims` pages the per-claim results and `GET …/report?format=csv|json|jsonl` downloads the ' +
        "report when it is done. Each claim is replayed under the baseline and the candidate (the latency figures: each one's " +
        `replay time on the same claims). At most ${maxClaims} claims; one backtest at a time; on the worker pool with its time and memory budgets.`,
      tag: 'policy',
      auth: true,
      query: options.query,
      body: {
        required: true,
        content: { 'application/json': jobBodySchema, 'application/yaml': { type: 'string', description: 'The candidate policy.' } },
      },
      responses: { 202: { description: 'The job, started', content: { 'application/json': jobSchema }, headers: ['Location'] } },
      problems: [400, 401, 403, 404, 409, 413, 415, 422, 503],
      handlers: [
        auth,
        options.readersOnly,
        ...options.bodyParsers,
        async (req, res) => {
          const query = validateQuery<{ since?: string; until?: string }>(options.query, req.query as Record<string, unknown>);
          const { policy, untilAt, sinceAt } = readJobCandidate(req.body as unknown, query);
          if (options.isRunning()) throw new ConflictError('backtestRunning', 'Another backtest is running in this service; try again when it has finished.');
          const pool = workerPoolFor(deps, deps.limits?.workers);
          if (pool.running() >= (deps.limits?.workers?.size ?? 2)) {
            throw new HttpError('workersBusy', 'Every backtest worker is busy; try again in 2 seconds.', {}, { retryAfterSec: 2 });
          }
          const total = await storeClaimSource(store, sinceAt).count();
          if (total > maxClaims) {
            throw new HttpError('tooManyClaims', `The backtest would replay ${total} claims; at most ${maxClaims} at a time: narrow it with since.`, {
              claims: total,
              limit: maxClaims,
            });
          }
          const job = start(policy, untilAt, sinceAt, total);
          res.status(202).location(`/v1/backtest/jobs/${job.id}`).json(jobView(job));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/backtest/jobs/:id',
      operationId: 'getBacktestJob',
      summary: 'A backtest job: status, progress, and when done its totals and latency figures',
      tag: 'policy',
      auth: true,
      params: jobParams,
      responses: { 200: { description: 'The job', content: { 'application/json': jobSchema } } },
      problems: [401, 403, 404],
      handlers: [auth, options.readersOnly, (req, res) => void res.json(jobView(find(param(req, 'id'))))],
    },
    {
      method: 'get',
      path: '/v1/backtest/jobs/:id/events',
      operationId: 'streamBacktestJob',
      summary: "A backtest job's progress (server-sent events)",
      description:
        'A `text/event-stream`: `event: progress` with `data: {"done","total"}` (at once, then as claims are replayed, at most ' +
        'ten a second), and at the end `event: done` (or `event: failed`) with the job as GET …/jobs/{id} answers it; then the ' +
        'stream ends. Read it with a streaming fetch and `Authorization: Bearer`.',
      tag: 'policy',
      auth: true,
      params: jobParams,
      responses: {
        200: {
          description: 'The stream (ends when the job does)',
          content: { 'text/event-stream': { type: 'string', description: 'event: progress\\ndata: {"done":200,"total":1000}' } },
        },
      },
      problems: [401, 403, 404],
      handlers: [
        auth,
        options.readersOnly,
        (req, res) => {
          const job = find(param(req, 'id'));
          res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
          res.flushHeaders();
          const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          if (job.status !== 'running') {
            send(job.status, jobView(job));
            res.end();
            return;
          }
          send('progress', { done: job.done, total: job.total });
          const listener = (event: string, data: unknown) => {
            send(event, data);
            if (event !== 'progress') res.end();
          };
          job.listeners.add(listener);
          res.on('close', () => job.listeners.delete(listener));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/backtest/jobs/:id/claims',
      operationId: 'pageBacktestJobClaims',
      summary: "A finished backtest job's per-claim results, a page at a time (in claim creation order)",
      tag: 'policy',
      auth: true,
      params: jobParams,
      query: pageQuery,
      responses: {
        200: {
          description: 'A page',
          content: {
            'application/json': {
              type: 'object',
              required: ['items', 'offset', 'limit', 'more'],
              properties: {
                items: { type: 'array', items: options.claimSchema },
                offset: { type: 'integer' },
                limit: { type: 'integer' },
                more: { type: 'boolean', description: 'Whether another page follows.' },
              },
            },
          },
        },
      },
      problems: [401, 403, 404, 409],
      handlers: [
        auth,
        options.readersOnly,
        async (req, res) => {
          const job = finished(find(param(req, 'id')));
          const query = validateQuery<{ offset?: number; limit?: number; changed?: boolean }>(pageQuery, req.query as Record<string, unknown>);
          const offset = query.offset ?? 0;
          const limit = query.limit ?? 50;
          const items: ClaimBacktest[] = [];
          let seen = 0;
          let more = false;
          const lines = createInterface({ input: createReadStream(join(job.dir, 'report.jsonl')), crlfDelay: Infinity });
          for await (const line of lines) {
            const row = JSON.parse(line) as { type: string } & ClaimBacktest;
            if (row.type !== 'claim' || (query.changed !== undefined && row.changed !== query.changed)) continue;
            if (seen++ < offset) continue;
            if (items.length === limit) {
              more = true;
              break;
            }
            const { type: _type, ...claim } = row;
            items.push(claim);
          }
          lines.close();
          res.json({ items, offset, limit, more });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/backtest/jobs/:id/report',
      operationId: 'downloadBacktestJobReport',
      summary: "A finished backtest job's report: CSV (default), JSON or JSON Lines, as a download",
      tag: 'policy',
      auth: true,
      params: jobParams,
      query: reportQuery,
      responses: {
        200: {
          description: 'The report',
          content: { 'text/csv': { type: 'string' }, 'application/json': { type: 'object' }, 'application/jsonl': { type: 'string' } },
          headers: ['Content-Disposition'],
        },
      },
      problems: [401, 403, 404, 409],
      handlers: [
        auth,
        options.readersOnly,
        (req, res: Response) => {
          const job = finished(find(param(req, 'id')));
          const { format = 'csv' } = validateQuery<{ format?: Format }>(reportQuery, req.query as Record<string, unknown>);
          res
            .status(200)
            .type(FORMATS[format])
            .set('Content-Disposition', `attachment; filename="backtest-${job.head.candidate.version}.${format}"`);
          createReadStream(join(job.dir, `report.${format}`)).pipe(res);
        },
      ],
    },
  ];
}
