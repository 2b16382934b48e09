/** `/v1/simulate`: runs a scenario (the scenario file format, as JSON) under the policy in effect, on a virtual clock. */
import { runScenario } from '../simulate/run-scenario';
import { scenarioSchema, type Scenario } from '../simulate/scenario';
import { InputError } from '../domain/errors';
import { authenticate } from './auth';
import type { HttpContext } from './context';
import { IDEMPOTENCY_KEY, idempotent } from './idempotency';
import { jsonBody } from './json-body';
import type { RouteSpec } from './route-spec';
import { validateInput } from './validation';

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
  return [
    {
      method: 'post',
      path: '/v1/simulate',
      operationId: 'simulate',
      summary: 'Run a scenario under the policy in effect (nothing is stored)',
      description: 'The body is a scenario file as JSON. It always runs under the policy in effect: `policy` is refused.',
      tag: 'policy',
      auth: true,
      headers: [IDEMPOTENCY_KEY],
      body: { required: true, content: { 'application/json': scenarioBodySchema } },
      responses: { 200: { description: 'The result, as `cpor simulate --json` prints it', content: { 'application/json': resultSchema } } },
      problems: [400, 401, 413, 415, 422],
      handlers: [
        authenticate(ctx.deps.authenticator),
        ...jsonBody(ctx.limits.jsonBodyBytes),
        idempotent(ctx.idempotency),
        async (req, res) => {
          const body = validateInput<Omit<Scenario, 'steps'> & { steps: Array<Record<string, unknown>> }>(scenarioBodySchema, req.body);
          if (body.policy !== undefined) {
            throw new InputError(
              'policyNotSelectable',
              'The API simulates under the policy in effect; remove "policy" (use `cpor simulate` to try another policy file).',
              '$.policy',
            );
          }
          const scenario = { ...body, steps: body.steps.map((step) => ({ ...step, line: 0 })) } as Scenario;
          res.json(await runScenario(scenario, { file: '(request)', policy: service.policy }));
        },
      ],
    },
  ];
}
