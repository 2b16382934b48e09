/**
 * The policy console's API: lint policy YAML as `cpor policy lint` does, diff two versions (or a
 * draft against a version) as `cpor policy diff` does, and read and save the files of the
 * service's policy directory (program managers), a save putting the new version in service.
 */
import express, { type RequestHandler } from 'express';
import { ConflictError, NotFoundError } from '../domain/errors';
import type { PolicyRegistry } from '../policies/policy-registry';
import { readPolicyFile, savePolicyFile } from '../policies/save-policy-file';
import { parsePolicy, type PolicyIssue } from '../rules/load-policy';
import { POLICY_DIFF_SECTIONS, diffPolicies } from '../rules/policy-diff';
import { policySchema } from '../rules/policy-schema';
import type { Policy } from '../rules/policy-types';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { HttpError } from './errors';
import { POLICY_READER_KINDS, policySourceOf } from './policy-routes';
import { param, type RouteSpec } from './route-spec';
import { validateQuery } from './validation';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];
/** How a draft is named in its located issues. */
const DRAFT_FILE = 'draft';

const issueSchema = {
  type: 'object',
  required: ['line', 'column', 'code', 'message', 'path', 'severity'],
  properties: {
    line: { type: 'integer', minimum: 1 },
    column: { type: 'integer', minimum: 1 },
    code: { type: 'string', description: 'A lint code (`cpor policy lint`), e.g. unknownKey, unknownState, yamlSyntax.' },
    message: { type: 'string' },
    path: { type: 'string', description: 'JSONPath of the offending value, e.g. `$.deadlines.reviewStart.runsIn[0]`.' },
    severity: { enum: ['error', 'warning'] },
  },
} as const;

const lintSchema = {
  type: 'object',
  required: ['ok', 'policy', 'issues'],
  properties: {
    ok: { type: 'boolean', description: 'The text loads (it may still have warnings).' },
    policy: {
      type: ['object', 'null'],
      description: 'What the text declares, when it loads.',
      properties: { id: { type: 'string' }, version: { type: 'string' }, effective: { type: ['string', 'null'] }, shadow: { type: 'boolean' } },
    },
    issues: { type: 'array', items: issueSchema, description: 'Errors and warnings, by position in the text.' },
  },
} as const;

const changeSchema = {
  type: 'object',
  required: ['section', 'key', 'kind', 'summary'],
  properties: {
    section: { enum: [...POLICY_DIFF_SECTIONS] },
    key: { type: 'string', description: 'Where in the policy, e.g. `deadlines.partnerResponse.businessDays`.' },
    kind: { enum: ['added', 'removed', 'changed'] },
    before: { description: 'The value before (a condition, a number, a list …); absent when added.' },
    after: { description: 'The value after; absent when removed.' },
    summary: { type: 'string' },
  },
} as const;

const ref = { type: 'object', required: ['id', 'version'], properties: { id: { type: 'string' }, version: { type: 'string' } } } as const;
const diffSchema = {
  type: 'object',
  required: ['from', 'to', 'sections', 'changes'],
  properties: {
    from: ref,
    to: ref,
    sections: { type: 'array', items: { type: 'string' }, description: 'The sections in the order changes are listed.' },
    changes: { type: 'array', items: changeSchema },
  },
} as const;

const diffQuery = {
  properties: {
    id: { type: 'string', minLength: 1, description: "Program id (default: the service's program)." },
    from: { type: 'string', minLength: 1, description: 'A loaded version of the program.' },
    to: { type: 'string', minLength: 1, description: 'A loaded version of the program.' },
  },
  required: ['from', 'to'],
} as const;

const draftDiffQuery = { properties: { id: diffQuery.properties.id, from: diffQuery.properties.from }, required: ['from'] } as const;

const saveQuery = {
  properties: { shadow: { enum: ['true', 'false'], description: '`true`: save it with `shadow: true` (a candidate kept out of effect).' } },
} as const;

const savedSchema = {
  type: 'object',
  required: ['file', 'created', 'version'],
  properties: {
    file: { type: 'string' },
    created: { type: 'boolean', description: 'The file is new (false: it replaced one).' },
    version: {
      type: 'object',
      description: 'The version as the service loaded it from the file.',
      properties: {
        id: { type: 'string' },
        version: { type: 'string' },
        effective: { type: ['string', 'null'] },
        digest: { type: 'string' },
        loadedAt: { type: 'string' },
        shadow: { type: 'boolean' },
      },
    },
  },
} as const;

const fileParam = {
  type: 'string',
  pattern: '^[a-z0-9][a-z0-9._-]*\\.ya?ml$',
  description: 'A file of the policy directory (no folders).',
} as const;

const yamlBodyDoc = { required: true, content: { 'application/yaml': { type: 'string', description: 'Policy YAML text (text/plain also accepted).' } } };

const located = (issues: PolicyIssue[]) => issues.map(({ line, column, code, message, path, severity }) => ({ line, column, code, message, path, severity }));

const isShadow = (policy: Policy) => (policy as Policy & { shadow?: unknown }).shadow === true;

/** A located refusal of YAML that does not load (422 invalidPolicy with every issue). */
function invalidPolicy(what: string, issues: PolicyIssue[]): HttpError {
  const errors = located(issues);
  const first = errors.find((e) => e.severity === 'error') ?? errors[0];
  return new HttpError(
    'invalidPolicy',
    `${what} does not load${first ? `: line ${first.line}, column ${first.column}, ${first.path}: ${first.message}` : ''}` +
      `${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}.`,
    { errors },
  );
}

export function policyEditRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const policies = policySourceOf(deps);
  const limit = ctx.limits.jsonBodyBytes;
  const files = (): Pick<PolicyRegistry, 'location' | 'reload' | 'status' | 'list'> | undefined => {
    const registry = deps.policies as Partial<PolicyRegistry> | undefined;
    return registry?.location && registry.reload && registry.status && registry.list ? (registry as PolicyRegistry) : undefined;
  };

  const readers: RequestHandler = (_req, res, next) => {
    access.requireKind(principalOf(res), POLICY_READER_KINDS, 'read or lint policies');
    next();
  };
  const yamlText: RequestHandler[] = [
    (req, _res, next) => {
      const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
      if (hasBody && !req.is(YAML_TYPES)) {
        throw new HttpError('unsupportedMediaType', `This endpoint takes policy YAML (Content-Type: application/yaml), not ${req.get('content-type') ?? 'an untyped body'}.`);
      }
      next();
    },
    express.text({ type: YAML_TYPES, limit }),
    (req, _res, next) => {
      if (typeof req.body !== 'string') req.body = '';
      next();
    },
  ];

  const loaded = (id: string | undefined, version: string, name: string): Policy => {
    const program = id ?? policies.current(deps.service.clock.now()).policy.id;
    const compiled = policies.get({ id: program, version });
    if (!compiled) throw new NotFoundError('unknownPolicyVersion', `Policy ${program} ${version} (${name}) is not loaded.`);
    return compiled.policy;
  };

  return [
    {
      method: 'post',
      path: '/v1/policies/lint',
      operationId: 'lintPolicy',
      summary: 'Lint policy YAML: every issue `cpor policy lint` reports, located (reviewers, program managers, services)',
      description: `The body is the policy YAML (at most ${limit} bytes). The answer is 200 whether or not it loads: \`ok\` says, \`issues\` says where.`,
      tag: 'policy',
      auth: true,
      body: yamlBodyDoc,
      responses: { 200: { description: 'The issues', content: { 'application/json': lintSchema } } },
      problems: [401, 403, 413, 415],
      handlers: [
        authenticate(deps.authenticator),
        readers,
        ...yamlText,
        (req, res) => {
          const result = parsePolicy(req.body as string, DRAFT_FILE);
          const issues = result.ok ? result.warnings : [...result.errors, ...result.warnings].sort((a, b) => a.line - b.line || a.column - b.column);
          res.json({
            ok: result.ok,
            policy: result.ok
              ? {
                  id: result.policy.id,
                  version: result.policy.version,
                  effective: result.policy.effective === undefined ? null : new Date(result.policy.effective).toISOString(),
                  shadow: isShadow(result.policy),
                }
              : null,
            issues: located(issues),
          });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/policies/diff',
      operationId: 'diffPolicyVersions',
      summary: 'What changed from one loaded policy version to another, section by section, as `cpor policy diff` computes it',
      tag: 'policy',
      auth: true,
      query: diffQuery,
      responses: { 200: { description: 'The changes', content: { 'application/json': diffSchema } } },
      problems: [400, 401, 403, 404],
      handlers: [
        authenticate(deps.authenticator),
        readers,
        (req, res) => {
          const query = validateQuery<{ id?: string; from: string; to: string }>(diffQuery, req.query as Record<string, unknown>);
          const from = loaded(query.id, query.from, 'from');
          const to = loaded(query.id, query.to, 'to');
          res.json({ ...diffPolicies(from, to), sections: POLICY_DIFF_SECTIONS });
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/policies/diff',
      operationId: 'diffPolicyDraft',
      summary: 'What a draft (policy YAML in the body) changes from a loaded version, section by section',
      description: 'A draft that does not load answers 422 invalidPolicy with its located errors.',
      tag: 'policy',
      auth: true,
      query: draftDiffQuery,
      body: yamlBodyDoc,
      responses: { 200: { description: 'The changes', content: { 'application/json': diffSchema } } },
      problems: [400, 401, 403, 404, 413, 415, 422],
      handlers: [
        authenticate(deps.authenticator),
        readers,
        ...yamlText,
        (req, res) => {
          const query = validateQuery<{ id?: string; from: string }>(draftDiffQuery, req.query as Record<string, unknown>);
          const from = loaded(query.id, query.from, 'from');
          const draft = parsePolicy(req.body as string, DRAFT_FILE);
          if (!draft.ok) throw invalidPolicy('The draft', draft.errors);
          res.json({ ...diffPolicies(from, draft.policy), sections: POLICY_DIFF_SECTIONS });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/policies/schema',
      operationId: 'policySchema',
      summary: "The policy file format as a JSON Schema (draft-07), policies/policy.schema.json: the console's editor completes keys from it",
      tag: 'policy',
      auth: true,
      responses: { 200: { description: 'The JSON Schema', content: { 'application/json': { type: 'object' } } } },
      problems: [401, 403],
      handlers: [
        authenticate(deps.authenticator),
        readers,
        (_req, res) => {
          res.json(policySchema);
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/policies/files/:file',
      operationId: 'readPolicyFile',
      summary: 'The text of a policy file of the service (reviewers, program managers, services)',
      tag: 'policy',
      auth: true,
      params: { file: fileParam },
      responses: { 200: { description: 'The policy YAML', content: { 'application/yaml': { type: 'string' } } } },
      problems: [400, 401, 403, 404],
      handlers: [
        authenticate(deps.authenticator),
        readers,
        async (req, res) => {
          const source = files();
          const name = param(req, 'file');
          if (!source) throw new NotFoundError('policyFileNotFound', `No policy file ${name}: this service was given its policy, not a policy file.`);
          res.type('application/yaml; charset=utf-8').send(await readPolicyFile(source, name));
        },
      ],
    },
    {
      method: 'put',
      path: '/v1/policies/files/:file',
      operationId: 'savePolicyFile',
      summary: 'Save a policy file into the policy directory and put it in service (program managers)',
      description:
        'Lints the YAML first: one that does not load, or that gives another content to a version another file serves, is not ' +
        'written (422 invalidPolicy with the located errors). Else it is written atomically (a temporary file renamed over the ' +
        'name), the policies are reloaded, and the answer is the version as loaded. `shadow=true` sets `shadow: true` in the file ' +
        '(comments and layout kept). Only when the service runs on a policy directory (else 409 policyDirectoryRequired).',
      tag: 'policy',
      auth: true,
      params: { file: fileParam },
      query: saveQuery,
      body: yamlBodyDoc,
      responses: { 200: { description: 'The version as loaded from the saved file', content: { 'application/json': savedSchema } } },
      problems: [400, 401, 403, 409, 413, 415, 422],
      handlers: [
        authenticate(deps.authenticator),
        (_req, res, next) => {
          access.requireKind(principalOf(res), ['internal'], 'save a policy file');
          next();
        },
        ...yamlText,
        async (req, res) => {
          const query = validateQuery<{ shadow?: 'true' | 'false' }>(saveQuery, req.query as Record<string, unknown>);
          const name = param(req, 'file');
          const source = files();
          if (!source) {
            // A service given one compiled policy (tests, embedding) has no files at all.
            throw new ConflictError('policyDirectoryRequired', `No policy file ${name} can be saved: this service was given its policy, not a policy directory.`);
          }
          const shadow = query.shadow === 'true';
          const saved = await savePolicyFile(source, name, req.body as string, { shadow });
          if (!saved.ok) throw invalidPolicy(`Policy file ${name}`, saved.issues);
          const compiled = policies.get(saved.version);
          const principal = principalOf(res);
          deps.logger.info(
            { file: name, id: saved.version.id, version: saved.version.version, digest: saved.version.digest, shadow, created: saved.created, by: { id: principal.id, role: principal.role } },
            'policy file saved',
          );
          res.json({
            file: saved.file,
            created: saved.created,
            version: {
              id: saved.version.id,
              version: saved.version.version,
              effective: saved.version.effective,
              digest: saved.version.digest,
              loadedAt: saved.version.loadedAt,
              shadow: compiled ? isShadow(compiled.policy) : shadow,
            },
          });
        },
      ],
    },
  ];
}
