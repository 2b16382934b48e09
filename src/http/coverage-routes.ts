/**
 * `/v1/simulate/coverage`: the bundled scenarios (and pasted ones) run under the policy in effect, a loaded version or a
 * draft, with rule coverage as `cpor test --coverage --format json` reports it (reviewers, program managers).
 */
import { createHash } from 'node:crypto';
import type { CoverageRun } from '../simulate/scenario-coverage';
import { loadBundledScenarios } from '../simulate/bundled-scenarios';
import { shipPolicies, type ShippedPolicies } from '../simulate/shipped-policies';
import { parsePolicy } from '../rules/load-policy';
import { InputError, NotFoundError } from '../domain/errors';
import { authenticate, principalOf } from './auth';
import type { CandidateIssue } from './backtest-routes';
import type { HttpContext } from './context';
import { HttpError } from './errors';
import { jsonBody } from './json-body';
import { POLICY_READER_KINDS, policySourceOf } from './policy-routes';
import type { RouteSpec } from './route-spec';
import { scenarioFromYaml } from './simulate-routes';
import { validateInput } from './validation';
import { runInWorker } from './worker-jobs';

/** Pasted scenarios per request, beside the bundled ones. */
const MAX_PASTED_SCENARIOS = 20;

const coverageBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    policy: { type: 'string', minLength: 1, description: 'A draft policy, as YAML text: the scenarios run under it alone.' },
    version: { type: 'string', minLength: 1, description: 'A loaded version of the program in effect: the scenarios run under it alone.' },
    bundled: { type: 'boolean', description: 'Run the bundled scenarios (default true).' },
    scenarios: {
      type: 'array',
      maxItems: MAX_PASTED_SCENARIOS,
      description: 'More scenarios, each a scenario file as YAML text.',
      items: { type: 'string', minLength: 1 },
    },
    threshold: { type: 'number', minimum: 0, maximum: 100, description: 'Percent each policy version must reach (`cpor test --coverage-threshold`).' },
  },
} as const;

interface CoverageBody {
  policy?: string;
  version?: string;
  bundled?: boolean;
  scenarios?: string[];
  threshold?: number;
}

const count = { type: 'object', properties: { covered: { type: 'integer' }, total: { type: 'integer' } } } as const;
const tally = { true: { type: 'integer' }, false: { type: 'integer' } } as const;

const coverageSchema = {
  type: 'object',
  required: ['passed', 'failed', 'skipped', 'failures', 'coverage'],
  properties: {
    passed: { type: 'integer' },
    failed: { type: 'integer' },
    skipped: { type: 'integer', description: 'Scenarios without expectations.' },
    failures: {
      type: 'array',
      items: { type: 'object', properties: { file: { type: 'string' }, name: { type: 'string' }, failures: { type: 'array', items: { type: 'string' } } } },
    },
    coverage: {
      type: 'object',
      required: ['policies', 'summary', 'threshold', 'under'],
      properties: {
        policies: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              policy: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
              scenarios: { type: 'integer' },
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    section: { type: 'string' },
                    code: { type: 'string' },
                    path: { type: 'string' },
                    ...tally,
                    conditions: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, text: { type: 'string' }, ...tally } } },
                  },
                },
              },
              deadlines: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { name: { type: 'string' }, fired: { type: 'integer' }, met: { type: 'integer' }, paused: { type: ['integer', 'null'] } },
                },
              },
              refusals: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { code: { type: 'string' }, occurred: { type: 'integer' }, reachable: { type: 'boolean' }, note: { type: 'string' } },
                },
              },
              summary: {
                type: 'object',
                properties: { covered: { type: 'integer' }, total: { type: 'integer' }, percent: { type: 'number' }, rules: count, conditions: count, deadlines: count, refusals: count },
              },
            },
          },
        },
        summary: { type: 'object', properties: { covered: { type: 'integer' }, total: { type: 'integer' }, percent: { type: 'number' } } },
        threshold: { type: ['number', 'null'] },
        under: {
          type: 'array',
          description: 'The versions under the threshold.',
          items: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' }, percent: { type: 'number' } } },
        },
      },
    },
  },
} as const;

/** One version as the only one, in effect since forever. */
const alone = (shipped: ShippedPolicies['versions'][number]): ShippedPolicies => ({
  programId: shipped.policy.id,
  versions: [{ ...shipped, effectiveMs: -Infinity, active: true }],
});

export function coverageRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const policies = policySourceOf(deps);
  return [
    {
      method: 'post',
      path: '/v1/simulate/coverage',
      operationId: 'scenarioCoverage',
      summary: 'Run the bundled (and pasted) scenarios with rule coverage under the policy in effect, a version or a draft (reviewers, program managers)',
      description:
        'What `cpor test scenarios --coverage --format json` reports: per policy version, every rule and condition made true and false, every deadline ' +
        'fired, met and paused, every refusal kind, and the totals against `threshold`. Without `policy` or `version` each scenario follows the versions ' +
        'in effect, as a claim would. A draft that does not load answers 422 invalidPolicy with its located errors; a pasted scenario that does not load, ' +
        `400 at its index with its line. At most ${MAX_PASTED_SCENARIOS} pasted scenarios; the run is one job in a worker thread with a simulation's budget ` +
        '(422 simulationTooExpensive), 503 with Retry-After when every worker is busy.',
      tag: 'policy',
      auth: true,
      body: { required: false, content: { 'application/json': coverageBodySchema } },
      responses: { 200: { description: 'Verdicts and coverage', content: { 'application/json': coverageSchema } } },
      problems: [400, 401, 403, 404, 413, 415, 422, 503],
      handlers: [
        authenticate(deps.authenticator),
        (_req, res, next) => {
          access.requireKind(principalOf(res), POLICY_READER_KINDS, 'run the scenarios with coverage');
          next();
        },
        ...jsonBody(ctx.limits.jsonBodyBytes),
        async (req, res) => {
          const body = validateInput<CoverageBody>(coverageBodySchema, req.body);
          if (body.policy !== undefined && body.version !== undefined) {
            throw new InputError('ambiguousParameter', 'Give a draft policy or a version, not both.', '$.version');
          }
          const pasted = (body.scenarios ?? []).map((yaml, i) => ({
            file: `pasted-${i + 1}.yaml`,
            scenario: scenarioFromYaml(yaml, `pasted-${i + 1}.yaml`, `$.scenarios[${i}]`),
          }));
          const bundled = body.bundled === false ? [] : (await loadBundledScenarios()).map(({ file, scenario }) => ({ file: `scenarios/${file}`, scenario }));
          const scenarios = [...bundled, ...pasted];
          if (scenarios.length === 0) throw new InputError('invalidPayload', 'No scenario to run: keep the bundled ones or paste one.', '$.scenarios');

          const inEffect = shipPolicies(policies, deps.service.clock.now());
          let shipped = inEffect;
          if (body.version !== undefined) {
            const found = inEffect.versions.find((v) => v.policy.id === inEffect.programId && v.policy.version === body.version);
            if (!found) throw new NotFoundError('unknownPolicyVersion', `Policy ${inEffect.programId} has no version ${JSON.stringify(body.version)} loaded.`);
            shipped = alone(found);
          } else if (body.policy !== undefined) {
            const parsed = parsePolicy(body.policy, 'draft');
            if (!parsed.ok) {
              const errors: CandidateIssue[] = parsed.errors.map(({ line, column, path, code, message }) => ({ line, column, path, code, message }));
              const first = errors[0];
              throw new HttpError(
                'invalidPolicy',
                `The draft policy does not load${first ? `: line ${first.line}, column ${first.column}, ${first.path}: ${first.message}` : ''}` +
                  `${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}.`,
                { errors },
              );
            }
            shipped = alone({
              policy: parsed.policy,
              effectiveMs: -Infinity,
              file: 'draft',
              digest: createHash('sha256').update(body.policy).digest('hex'),
              active: true,
            });
          }
          res.json(
            await runInWorker<CoverageRun>(ctx, res, 'coverage', {
              scenarios,
              policies: shipped,
              ...(body.threshold !== undefined ? { threshold: body.threshold } : {}),
            }),
          );
        },
      ],
    },
  ];
}
