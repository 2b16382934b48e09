/**
 * `/v1/backtest`: replays the stored claims under a candidate policy and reports what
 * would change, per claim and in total (JSON or CSV). Bounded: at most
 * `limits.backtestMaxClaims` claims, one backtest at a time per process.
 */
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import type { BacktestReport } from '../backtest/backtest';
import { toCsv } from '../backtest/backtest-report';
import { ConflictError, DomainError, InputError } from '../domain/errors';
import { parseInstantOrDate } from '../domain/instants';
import { shipPolicies } from '../simulate/shipped-policies';
import { parsePolicy } from '../rules/load-policy';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { HttpError } from './errors';
import { refuseDeepJson } from './json-body';
import { POLICY_READER_KINDS, policySourceOf } from './policy-routes';
import { wantsCsv } from './report-routes';
import type { RouteSpec } from './route-spec';
import { validateInput, validateQuery } from './validation';
import { runInWorker } from './worker-jobs';
import { backtestJobRoutes } from './backtest-jobs';

const JSON_TYPES = ['application/json', 'application/*+json'];
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
/** How the candidate is named in its located errors. */
const CANDIDATE_FILE = 'candidate';

const DATE_OR_INSTANT = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2}))?$';
const since = {
  type: 'string',
  anyOf: [{ type: 'string', format: 'date' }, { type: 'string', format: 'date-time' }],
  pattern: DATE_OR_INSTANT,
  description: 'Only claims created at or after this instant, or from 00:00 of this date (policy time zone).',
} as const;
const until = {
  type: 'string',
  format: 'date-time',
  description: "The virtual now both replays run to (default: the service's now); history after it is left out.",
} as const;

const backtestBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['policy'],
  properties: {
    policy: { type: 'string', minLength: 1, description: 'The candidate policy, as YAML text.' },
    since,
    until,
  },
} as const;

const backtestQuery = {
  properties: {
    since,
    until,
    format: { enum: ['json', 'csv'], description: 'Default: JSON, or CSV when the Accept header prefers text/csv.' },
  },
} as const;

const outcomeSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    substatus: { type: ['string', 'null'] },
    reason: { type: ['string', 'null'] },
    overdue: { type: 'array', items: { type: 'string' } },
    deficiencies: { type: 'array', items: { type: 'string' } },
    deadlines: { type: 'array', items: { type: 'object' } },
    refused: { type: 'array', items: { type: 'object' } },
  },
} as const;

const reportSchema = {
  type: 'object',
  required: ['candidate', 'until', 'since', 'totals', 'claims', 'skipped'],
  properties: {
    candidate: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
    until: { type: 'string' },
    since: { type: ['string', 'null'] },
    totals: {
      type: 'object',
      properties: {
        claims: { type: 'integer' },
        changed: { type: 'integer' },
        unchanged: { type: 'integer' },
        skipped: { type: 'integer' },
        byField: { type: 'object', additionalProperties: { type: 'integer' } },
        durationMs: { type: 'number' },
      },
    },
    claims: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          claimId: { type: 'string' },
          changed: { type: 'boolean' },
          baseline: outcomeSchema,
          candidate: outcomeSchema,
          changes: {
            type: 'array',
            items: { type: 'object', properties: { field: { type: 'string' }, before: {}, after: {}, summary: { type: 'string' } } },
          },
        },
      },
    },
    skipped: {
      type: 'array',
      items: { type: 'object', properties: { claimId: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

/** A located problem of the candidate policy, as `errors[]` of the 422. */
export interface CandidateIssue {
  line: number;
  column: number;
  path: string;
  code: string;
  message: string;
}

// Per process, not per app: a backtest's cost is the process's CPU, which every app in it shares.
let backtestRunning = false;

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

export function backtestRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const { service, store } = deps;
  const policies = policySourceOf(deps);
  const maxClaims = ctx.limits.backtestMaxClaims;
  const limit = ctx.limits.jsonBodyBytes;

  const readersOnly: RequestHandler = (_req, res, next) => {
    access.requireKind(principalOf(res), POLICY_READER_KINDS, 'run a backtest');
    next();
  };
  const jsonOrYaml: RequestHandler = (req, _res, next) => {
    if (hasBody(req) && !req.is([...JSON_TYPES, ...YAML_TYPES])) {
      throw new HttpError(
        'unsupportedMediaType',
        `This endpoint takes JSON ({ "policy": "<YAML>" }) or the policy YAML itself (Content-Type: application/yaml), not ${req.get('content-type') ?? 'an untyped body'}.`,
      );
    }
    next();
  };
  const defaultEmpty: RequestHandler = (req, _res, next) => {
    req.body ??= {};
    next();
  };

  /** The candidate (YAML body, or JSON `{ policy, since?, until? }`) and the instants it runs between; 422 with located errors when it does not load. */
  const readCandidate = (body: unknown, query: { since?: string; until?: string }) => {
    let text: string;
    let options: { since?: string; until?: string } = query;
    if (typeof body === 'string') {
      text = body;
    } else {
      const input = validateInput<{ policy: string; since?: string; until?: string }>(backtestBodySchema, body);
      for (const name of ['since', 'until'] as const) {
        if (input[name] !== undefined && query[name] !== undefined) {
          throw new InputError('ambiguousParameter', `Give ${name} once: in the body or in the query, not both.`, `$.${name}`);
        }
      }
      text = input.policy;
      options = { since: input.since ?? query.since, until: input.until ?? query.until };
    }
    const parsed = parsePolicy(text, CANDIDATE_FILE);
    if (!parsed.ok) {
      const errors: CandidateIssue[] = parsed.errors.map(({ line, column, path, code, message }) => ({ line, column, path, code, message }));
      const first = errors[0];
      throw new HttpError(
        'invalidPolicy',
        `The candidate policy does not load${first ? `: line ${first.line}, column ${first.column}, ${first.path}: ${first.message}` : ''}` +
          `${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}.`,
        { errors },
      );
    }
    const untilAt = options.until !== undefined ? new Date(options.until) : service.clock.now();
    const sinceAt = options.since === undefined ? undefined : sinceOf(options.since, policies.current(untilAt).calendar);
    return { policy: parsed.policy, untilAt, sinceAt };
  };
  const bodyParsers: RequestHandler[] = [
    jsonOrYaml,
    express.text({ type: YAML_TYPES, limit }),
    express.json({ type: JSON_TYPES, limit, strict: true, verify: (_req, _res, buf) => refuseDeepJson(buf) }),
    defaultEmpty,
  ];

  return [
    ...backtestJobRoutes(ctx, {
      readersOnly,
      bodyParsers,
      readCandidate,
      query: { properties: { since, until } },
      claimSchema: reportSchema.properties.claims.items,
      isRunning: () => backtestRunning,
      setRunning: (running: boolean) => (backtestRunning = running),
    }),
    {
      method: 'post',
      path: '/v1/backtest',
      operationId: 'backtest',
      summary: 'Replay stored claims under a candidate policy; report per claim and in total what would change (reviewers, program managers)',
      description:
        'The body is `{ policy, since?, until? }` with the candidate policy as YAML text, or the YAML itself (Content-Type: ' +
        'application/yaml) with `since` and `until` as query parameters. A candidate that does not load answers 422 with its ' +
        `located errors (line, column, path). At most ${maxClaims} claims per backtest (422 tooManyClaims: narrow it with since); ` +
        'one backtest at a time (409 backtestRunning), in a worker thread with a time and memory budget (422 backtestTooExpensive). CSV with `format=csv` or `Accept: text/csv`.',
      tag: 'policy',
      auth: true,
      query: backtestQuery,
      body: {
        required: true,
        content: { 'application/json': backtestBodySchema, 'application/yaml': { type: 'string', description: 'The candidate policy.' } },
      },
      responses: {
        200: { description: 'The report', content: { 'application/json': reportSchema, 'text/csv': { type: 'string' } } },
      },
      problems: [400, 401, 403, 404, 409, 413, 415, 422, 503],
      handlers: [
        authenticate(deps.authenticator),
        readersOnly,
        jsonOrYaml,
        express.text({ type: YAML_TYPES, limit }),
        express.json({ type: JSON_TYPES, limit, strict: true, verify: (_req, _res, buf) => refuseDeepJson(buf) }),
        defaultEmpty,
        async (req, res) => {
          const query = validateQuery<{ since?: string; until?: string; format?: 'json' | 'csv' }>(
            backtestQuery,
            req.query as Record<string, unknown>,
          );
          const { policy: candidate, untilAt, sinceAt } = readCandidate(req.body as unknown, query);

          if (backtestRunning) {
            throw new ConflictError('backtestRunning', 'Another backtest is running in this service; try again when it has finished.');
          }
          backtestRunning = true;
          let report: BacktestReport;
          try {
            // Replays run in a worker thread; it reads the claims through the store the service holds (SQLite or PostgreSQL).
            report = await runInWorker<BacktestReport>(
              ctx,
              res,
              'backtest',
              {
                candidate,
                policies: shipPolicies(policies, untilAt),
                until: untilAt.toISOString(),
                ...(sinceAt ? { since: sinceAt.toISOString() } : {}),
                maxClaims,
              },
              {
                allClaimIds: () => store.allClaimIds(),
                getClaim: (id: string) => store.getClaim(id),
                listHistory: (id: string) => store.listHistory(id),
              },
            );
          } catch (error) {
            if (!(error instanceof DomainError && error.code === 'tooManyClaims')) throw error;
            throw new HttpError('tooManyClaims', error.message, { ...(error.details ?? {}) });
          } finally {
            backtestRunning = false;
          }

          if (wantsCsv(req, query.format)) {
            res.type('text/csv; charset=utf-8; header=present').set('Content-Disposition', 'attachment; filename="backtest.csv"').send(toCsv(report));
            return;
          }
          res.json(report);
        },
      ],
    },
  ];
}

/** `since`: an instant as given, or 00:00 of a date in the policy's time zone. */
function sinceOf(value: string, calendar: { startOfLocalDay(date: string): Date }): Date {
  const read = parseInstantOrDate(value);
  if (!read.ok) throw new InputError('invalidQuery', `since: ${JSON.stringify(value)} ${read.problem}.`, '$.since');
  return 'instant' in read.value ? read.value.instant : calendar.startOfLocalDay(read.value.date);
}
