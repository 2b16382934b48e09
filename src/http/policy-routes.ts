/** `/v1/policies`: the policy versions the service knows, which one is in effect, and the files that do not load. */
import { basename } from 'node:path';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { NotFoundError } from '../domain/errors';
import { staticPolicySource, type PolicySource } from '../policies/policy-registry';
import { authenticate, principalOf } from './auth';
import type { AppDeps, HttpContext } from './context';
import type { RouteSpec } from './route-spec';

/** Role kinds that read policy operations (versions, reports, backtests): reviewers, program managers and services. */
export const POLICY_READER_KINDS = ['reviewer', 'internal'] as const;

/** The app's policy versions: `deps.policies`, else the claim service's source (listing the version in effect now). */
export function policySourceOf(deps: AppDeps): PolicySource & { status?(): unknown } {
  if (deps.policies) return deps.policies;
  const { service } = deps;
  const source = service.policies as typeof service.policies & Partial<Pick<PolicySource, 'list'>>;
  if (typeof source.list === 'function') return source as PolicySource;
  return {
    current: (at: Date): CompiledPolicy => source.current(at),
    get: (ref) => source.get(ref),
    list: () => staticPolicySource(source.current(service.clock.now())).list(),
  };
}

const versionSchema = {
  type: 'object',
  required: ['id', 'version', 'effective', 'digest', 'loadedAt', 'active', 'inEffect', 'shadow', 'claims'],
  properties: {
    id: { type: 'string', description: 'Program id.' },
    version: { type: 'string' },
    effective: { type: ['string', 'null'], format: 'date-time', description: 'In effect from this instant; null: since forever.' },
    digest: { type: 'string', description: 'SHA-256 (hex) of the policy file.' },
    loadedAt: { type: 'string', description: 'When the service loaded this content.' },
    active: { type: 'boolean', description: 'A policy file still provides it; false: kept only for claims pinned to it.' },
    inEffect: { type: 'boolean', description: 'The version of its program in effect now.' },
    shadow: { type: 'boolean', description: 'A candidate run in shadow (`shadow: true`): never in effect, evaluated beside the live version.' },
    file: { type: 'string', description: 'The policy file (name in the policy directory) it was loaded from, when it came from one.' },
    claims: { type: 'integer', minimum: 0, description: 'How many claims follow this version (pinned at submission, or drafts under the version in effect).' },
  },
} as const;

const policiesSchema = {
  type: 'object',
  required: ['versions', 'status'],
  properties: {
    versions: { type: 'array', items: versionSchema },
    status: {
      type: ['object', 'null'],
      description: 'Reload status: `broken` lists files that do not load, each with its located errors (FILE:LINE:COLUMN …). Null when the service serves one fixed policy.',
      properties: {
        ok: { type: 'boolean' },
        broken: {
          type: 'array',
          items: {
            type: 'object',
            properties: { file: { type: 'string' }, errors: { type: 'array', items: { type: 'string' } } },
          },
        },
        lastReloadAt: { type: ['string', 'null'] },
      },
    },
  },
} as const;

export function policyRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const policies = policySourceOf(deps);
  return [
    {
      method: 'get',
      path: '/v1/policies',
      operationId: 'listPolicies',
      summary: 'Policy versions: which is in effect now, and policy files that do not load (reviewers, program managers, services)',
      tag: 'policy',
      auth: true,
      responses: { 200: { description: 'Versions by program, effective instant and version', content: { 'application/json': policiesSchema } } },
      problems: [401, 403],
      handlers: [
        authenticate(deps.authenticator),
        async (_req, res) => {
          access.requireKind(principalOf(res), POLICY_READER_KINDS, 'read the policy versions');
          const counts = await deps.store.countClaimsByPolicy();
          const claimsOf = (v: { id: string; version: string }) => counts.find((c) => c.id === v.id && c.version === v.version)?.claims ?? 0;
          const now = deps.service.clock.now();
          const versions = policies.list();
          const inEffect = new Map<string, string | undefined>();
          for (const id of new Set(versions.map((v) => v.id))) inEffect.set(id, versionInEffect(policies, now, id));
          const raw = policies.status?.();
          let status: Record<string, unknown> | null = null;
          if (raw !== null && typeof raw === 'object') {
            // `versions` of the registry's status repeats the list above.
            const { versions: _repeated, ...rest } = raw as Record<string, unknown>;
            status = rest;
          }
          res.json({
            versions: versions.map((v) => ({
              id: v.id,
              version: v.version,
              effective: v.effective,
              digest: v.digest,
              loadedAt: v.loadedAt,
              active: v.active,
              inEffect: inEffect.get(v.id) === v.version,
              shadow: v.shadow === true,
              ...(v.file ? { file: basename(v.file) } : {}),
              claims: claimsOf(v),
            })),
            status,
          });
        },
      ],
    },
  ];
}

/** The version of program `id` in effect at `at`, if any. */
function versionInEffect(policies: PolicySource, at: Date, id: string): string | undefined {
  try {
    const compiled = policies.current(at, id);
    return compiled.policy.id === id ? compiled.policy.version : undefined;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined; // no version of it is in effect now
    throw error;
  }
}
