/**
 * `/v1/simulate`: runs a scenario (the scenario file format, as JSON) under the policy in effect, on a virtual clock;
 * `/v1/simulate/timeline` runs one given as YAML text and draws it; `/v1/scenarios` lists the bundled scenarios.
 */
import type { Request } from 'express';
import type { ScenarioResult } from '../simulate/run-scenario';
import { loadBundledScenarios } from '../simulate/bundled-scenarios';
import { parseScenario, scenarioSchema, systemActorIssues, withLines, type Scenario, type ScenarioFile } from '../simulate/scenario';
import { shipPolicies } from '../simulate/shipped-policies';
import { InputError } from '../domain/errors';
import { authenticate } from './auth';
import type { HttpContext } from './context';
import { IDEMPOTENCY_KEY, idempotent } from './idempotency';
import { jsonBody } from './json-body';
import { policySourceOf } from './policy-routes';
import type { RouteSpec } from './route-spec';
import { validateInput, validateQuery } from './validation';
import { runInWorker } from './worker-jobs';

const { $schema: _dialect, ...scenarioBodySchema } = scenarioSchema;

const SVG_TYPE = 'image/svg+xml';

const resultSchema = {
  type: 'object',
  required: ['name', 'policy', 'passed', 'failures', 'final', 'timeline', 'deadlines'],
  properties: {
    name: { type: 'string' },
    file: { type: 'string' },
    policy: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
    passed: { type: ['boolean', 'null'], description: 'null: the scenario has no expectations.' },
    failures: { type: 'array', items: { type: 'string' } },
    final: { type: 'object' },
    timeline: { type: 'array', items: { type: 'object' } },
    deadlines: { type: 'array', items: { type: 'object' } },
  },
} as const;

const simulateQuery = {
  properties: {
    format: {
      enum: ['json', 'svg'],
      description: 'json (default): the result; svg: the run drawn as a timeline (`image/svg+xml`, as `cpor simulate --svg` draws it). `Accept: image/svg+xml` asks for svg too.',
    },
  },
} as const;

const timelineBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['yaml'],
  properties: {
    yaml: { type: 'string', minLength: 1, description: 'The scenario file, as YAML text (as `cpor simulate` reads it).' },
    file: { type: 'string', minLength: 1, maxLength: 200, description: 'Its file name, as the result and the picture name it (default scenario.yaml).' },
  },
} as const;

const timelineSchema = {
  type: 'object',
  required: ['result', 'svg'],
  properties: {
    result: resultSchema,
    svg: { type: ['string', 'null'], description: 'The timeline picture (SVG text; every string of the scenario escaped); null when no step ran.' },
  },
} as const;

const scenarioListSchema = {
  type: 'object',
  required: ['scenarios'],
  properties: {
    scenarios: {
      type: 'array',
      items: {
        type: 'object',
        required: ['file', 'name', 'description', 'yaml'],
        properties: {
          file: { type: 'string' },
          name: { type: 'string' },
          description: { type: ['string', 'null'] },
          yaml: { type: 'string', description: 'The file as it is bundled.' },
        },
      },
    },
  },
} as const;

/** What a timeline job answers. */
interface TimelineRun {
  result: ScenarioResult;
  svg: string | null;
}

/** The API simulates under the policy in effect: a scenario naming a policy file is refused. */
function refuseNamedPolicy(scenario: { policy?: string }, path: string): void {
  if (scenario.policy !== undefined) {
    throw new InputError(
      'policyNotSelectable',
      'The API simulates under the policy in effect; remove "policy" (use `cpor simulate` to try another policy file).',
      path,
    );
  }
}

/** A scenario's YAML text read as `cpor simulate` reads a file; a problem answers 400 at `path` with its line and column. */
export function scenarioFromYaml(yaml: string, file: string, path: string): Scenario {
  const parsed = parseScenario(yaml, file);
  if (!parsed.ok) {
    throw new InputError('invalidPayload', `The scenario does not load: ${parsed.error}.`, path, { errors: [{ path, message: parsed.error }] });
  }
  refuseNamedPolicy(parsed.scenario, path);
  return parsed.scenario;
}

const wantsSvg = (req: Request, format: 'json' | 'svg' | undefined) =>
  format !== undefined ? format === 'svg' : req.accepts(['application/json', SVG_TYPE]) === SVG_TYPE && !req.accepts('application/json');

export function simulateRoutes(ctx: HttpContext): RouteSpec[] {
  const { service } = ctx.deps;
  const policies = policySourceOf(ctx.deps);
  const shipped = () => shipPolicies(policies, service.clock.now());
  return [
    {
      method: 'post',
      path: '/v1/simulate',
      operationId: 'simulate',
      summary: 'Run a scenario under the policy versions in effect (nothing is stored); its result, or its timeline picture',
      description:
        "The body is a scenario file as JSON. It runs under the service's policy versions, as a claim would: the version in effect " +
        'at each step until submission pins it (`policy` is refused). It runs in a worker thread with a time and memory budget ' +
        '(422 simulationTooExpensive past it); when every worker is busy, 503 with Retry-After. With `format=svg` (or `Accept: image/svg+xml` ' +
        'without application/json) the answer is the run drawn as an SVG timeline, as `cpor simulate --svg` draws it (400 at $.steps when no step ran).',
      tag: 'policy',
      auth: true,
      query: simulateQuery,
      headers: [IDEMPOTENCY_KEY],
      body: { required: true, content: { 'application/json': scenarioBodySchema } },
      responses: {
        200: {
          description: 'The result, as `cpor simulate --json` prints it; or its picture',
          content: { 'application/json': resultSchema, [SVG_TYPE]: { type: 'string' } },
        },
      },
      problems: [400, 401, 404, 413, 415, 422, 503],
      handlers: [
        authenticate(ctx.deps.authenticator),
        ...jsonBody(ctx.limits.jsonBodyBytes),
        idempotent(ctx.idempotency),
        async (req, res) => {
          const query = validateQuery<{ format?: 'json' | 'svg' }>(simulateQuery, req.query as Record<string, unknown>);
          const system = systemActorIssues(req.body);
          if (system.length > 0) {
            throw new InputError('invalidPayload', `The request body is not valid: ${system[0]!.path}: ${system[0]!.message}.`, system[0]!.path, {
              errors: system.map(({ path, message }) => ({ path, message })),
            });
          }
          const body = validateInput<ScenarioFile>(scenarioBodySchema, req.body);
          refuseNamedPolicy(body, '$.policy');
          const scenario = withLines(body, () => 0);
          if (!wantsSvg(req, query.format)) {
            res.json(await runInWorker<ScenarioResult>(ctx, res, 'simulate', { scenario, policies: shipped() }));
            return;
          }
          const { result, svg } = await runInWorker<TimelineRun>(ctx, res, 'timeline', { scenario, policies: shipped() });
          if (svg === null) {
            throw new InputError('invalidPayload', `Nothing to draw: no step ran${result.failures[0] ? ` (${result.failures[0]})` : ''}.`, '$.steps');
          }
          res.type(SVG_TYPE).set('Content-Disposition', 'inline; filename="timeline.svg"').send(svg);
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/simulate/timeline',
      operationId: 'simulateTimeline',
      summary: 'Run a scenario given as YAML text; its result and its timeline picture (the console)',
      description:
        'The body is `{ yaml }`: a scenario file as `cpor simulate` reads it (a problem answers 400 with its line and column). It runs as ' +
        '`POST /v1/simulate` does, in a worker thread with the same budget, and answers the result with the picture `cpor simulate --svg` draws.',
      tag: 'policy',
      auth: true,
      headers: [IDEMPOTENCY_KEY],
      body: { required: true, content: { 'application/json': timelineBodySchema } },
      responses: { 200: { description: 'The result and its picture', content: { 'application/json': timelineSchema } } },
      problems: [400, 401, 404, 413, 415, 422, 503],
      handlers: [
        authenticate(ctx.deps.authenticator),
        ...jsonBody(ctx.limits.jsonBodyBytes),
        idempotent(ctx.idempotency),
        async (req, res) => {
          const body = validateInput<{ yaml: string; file?: string }>(timelineBodySchema, req.body);
          const file = body.file ?? 'scenario.yaml';
          const scenario = scenarioFromYaml(body.yaml, file, '$.yaml');
          res.json(await runInWorker<TimelineRun>(ctx, res, 'timeline', { scenario, policies: shipped(), file }));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/scenarios',
      operationId: 'listScenarios',
      summary: 'The scenario files bundled with the service (scenarios/*.yaml), with their text',
      tag: 'policy',
      auth: true,
      responses: { 200: { description: 'Every bundled scenario, by file name', content: { 'application/json': scenarioListSchema } } },
      problems: [401],
      handlers: [
        authenticate(ctx.deps.authenticator),
        async (_req, res) => {
          const scenarios = await loadBundledScenarios();
          res.set('Cache-Control', 'private, max-age=300').json({
            scenarios: scenarios.map(({ file, name, description, yaml }) => ({ file, name, description, yaml })),
          });
        },
      ],
    },
  ];
}
