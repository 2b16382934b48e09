/** `/v1/simulate`: runs a scenario (the scenario file format, as JSON) under the policy in effect, on a virtual clock. */
import type { ScenarioResult } from '../simulate/run-scenario';
import { scenarioSchema, systemActorIssues, withLines, type ScenarioFile } from '../simulate/scenario';
import { shipPolicies } from '../simulate/shipped-policies';
import { InputError } from '../domain/errors';
import { authenticate } from './auth';
import type { HttpContext } from './context';
import { IDEMPOTENCY_KEY, idempotent } from './idempotency';
import { jsonBody } from './json-body';
import { policySourceOf } from './policy-routes';
import type { RouteSpec } from './route-spec';
import { validateInput } from './validation';
import { runInWorker } from './worker-jobs';

const { $schema: _dialect, ...scenarioBodySchema } = scenarioSchema;

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

export function simulateRoutes(ctx: HttpContext): RouteSpec[] {
  const { service } = ctx.deps;
  const policies = policySourceOf(ctx.deps);
  return [
    {
      method: 'post',
      path: '/v1/simulate',
      operationId: 'simulate',
      summary: 'Run a scenario under the policy versions in effect (nothing is stored)',
      description:
        "The body is a scenario file as JSON. It runs under the service's policy versions, as a claim would: the version in effect " +
        'at each step until submission pins it (`policy` is refused). It runs in a worker thread with a time and memory budget ' +
        '(422 simulationTooExpensive past it); when every worker is busy, 503 with Retry-After.',
      tag: 'policy',
      auth: true,
      headers: [IDEMPOTENCY_KEY],
      body: { required: true, content: { 'application/json': scenarioBodySchema } },
      responses: { 200: { description: 'The result, as `cpor simulate --json` prints it', content: { 'application/json': resultSchema } } },
      problems: [400, 401, 404, 413, 415, 422, 503],
      handlers: [
        authenticate(ctx.deps.authenticator),
        ...jsonBody(ctx.limits.jsonBodyBytes),
        idempotent(ctx.idempotency),
        async (req, res) => {
          const system = systemActorIssues(req.body);
          if (system.length > 0) {
            throw new InputError('invalidPayload', `The request body is not valid: ${system[0]!.path}: ${system[0]!.message}.`, system[0]!.path, {
              errors: system.map(({ path, message }) => ({ path, message })),
            });
          }
          const body = validateInput<ScenarioFile>(scenarioBodySchema, req.body);
          if (body.policy !== undefined) {
            throw new InputError(
              'policyNotSelectable',
              'The API simulates under the policy in effect; remove "policy" (use `cpor simulate` to try another policy file).',
              '$.policy',
            );
          }
          const scenario = withLines(body, () => 0);
          const shipped = shipPolicies(policies, service.clock.now());
          res.json(await runInWorker<ScenarioResult>(ctx, res, 'simulate', { scenario, policies: shipped }));
        },
      ],
    },
  ];
}
