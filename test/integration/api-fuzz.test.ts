/**
 * The API fuzzed from its own /openapi.json: for every operation, as every role of the
 * bundled policy (and anonymous, with a bad, expired or oversized token), schema-valid
 * and malformed requests go to the service as `cpor serve` starts it (startService: a SQLite
 * file in a temporary data directory, a real listening server, the scheduler running).
 * Every answer must be below 500, problem+json when it is an error, of a status and
 * content type the operation documents, and valid against the documented schema.
 * Afterwards the service must still be healthy and `cpor audit verify` clean.
 *
 * Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx vitest run test/integration/api-fuzz.test.ts
 * (FUZZ_RUNS sets the requests per operation and caller; FUZZ_STATS=1 prints the statuses reached per operation).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { loadOrCreateSecret } from '../../src/auth/load-or-create-secret';
import { main } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { startService, type RunningService } from '../../src/server';
import { BUNDLED_POLICY_DIR } from '../../src/simulate/policy-files';
import { BUNDLED_POLICY_PATH, bundledPolicy } from '../support/bundled-policy';
import { claimFields } from '../support/factories';
import { CALLERS, httpHelpers, OTHER_PARTNER_ID, OTHER_TENANT_ID, PARTNER_ID, TENANT_ID } from '../support/http-requests';
import {
  createResponseChecker,
  CURRENT_ETAG,
  describeExchange,
  operationsOf,
  requestArbitrary,
  schemaArbitrary,
  sendRaw,
  type FuzzRequest,
  type Json,
  type Operation,
  type RequestContext,
} from '../support/openapi-requests';
import { mintTestToken, type TestApp, type TokenClaims } from '../support/test-app';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 20260302;
const RUNS = process.env.FUZZ_RUNS !== undefined ? Number(process.env.FUZZ_RUNS) : 8;
/** How long shrinking one failure may take. */
const SHRINK_BUDGET_MS = 1_000;
/** Requests without a valid token stop at authentication: a few suffice. */
const RUNS_UNAUTHENTICATED = Math.max(2, Math.ceil(RUNS / 3));

// ---- The service as `cpor serve` runs it: a SQLite file in a temporary data directory ----

const dataDir = mkdtempSync(join(tmpdir(), 'cpor-fuzz-'));
/** Error-level log lines (a 5xx logs its cause): shown beside a failure. */
const errorLogs: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } };
        if (entry.level >= 50) errorLogs.push(`${entry.msg ?? ''}: ${entry.err?.message ?? ''}`);
      }
      done();
    },
  }),
);
const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }, { policyPath: BUNDLED_POLICY_DIR });
const running: RunningService = await startService(config, { logger });
const { port } = running.server.address() as AddressInfo;
const base = { host: '127.0.0.1', port };
const doc = JSON.parse((await sendRaw(base, { method: 'GET', target: '/openapi.json', headers: {}, note: [] })).body.toString('utf8')) as Json;
// GET /v1/events answers a stream that stays open (no answer to check the end of): http-events.test.ts tests it.
const operations = operationsOf(doc).filter((op) => op.operationId !== 'streamEvents');
const checkResponse = createResponseChecker(doc);

/** Exceptions nothing handled while a request ran (in the real service they end the process). */
const uncaught: string[] = [];
const onUncaught = (error: unknown) => uncaught.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));

// ---- Who calls: every role of the policy, and callers without a valid token ----

interface Caller {
  name: string;
  authorization?: string;
}

const secret = await loadOrCreateSecret(dataDir);
const token = (claims: TokenClaims, options: { expiresIn?: string; now?: () => Date } = {}) =>
  mintTestToken(secret, claims, { expiresIn: options.expiresIn ?? '1d', ...(options.now ? { now: options.now } : {}) });
const bearer = async (claims: TokenClaims) => `Bearer ${await token(claims)}`;

const policy = await bundledPolicy();
const callers: Caller[] = [];
for (const [role, { kind }] of Object.entries(policy.roles)) {
  const claims =
    kind === 'partner' ? { role, partnerId: PARTNER_ID } : kind === 'customer' ? { role, tenantId: TENANT_ID } : { role };
  callers.push({ name: role, authorization: await bearer({ ...claims, id: `${role}@fuzz` }) });
}
callers.push(
  { name: 'other partner (incentivesAdmin)', authorization: await bearer(CALLERS.otherPartner) },
  { name: 'anonymous' },
  { name: 'bad token', authorization: 'Bearer not.a.jwt' },
  { name: 'expired token', authorization: `Bearer ${await token(CALLERS.reviewer, { expiresIn: '1s', now: () => new Date('2020-01-01T00:00:00Z') })}` },
  { name: 'wrong scheme', authorization: 'Basic cmV2aWV3ZXI6c2VjcmV0' },
  { name: 'oversized token', authorization: `Bearer ${'a'.repeat(17 * 1024)}` },
);
const authenticated = (c: Caller) => c.authorization?.startsWith('Bearer ') && !['bad token', 'expired token', 'oversized token'].includes(c.name);
const reviewerAuth = callers.find((c) => c.name === 'reviewer')!.authorization!;

// ---- Claims in several states: ids in paths hit real, hidden and missing claims ----

const claimIds: string[] = [];
const poeIds: string[] = [];

async function seed() {
  // The usual request helpers, over the running service's URL.
  const h = httpHelpers({ app: running.url, bearer } as unknown as TestApp);
  const editing = await h.createClaim();
  const upload = await h.uploadPoe(editing.id);
  expect(upload.status).toBe(201);
  poeIds.push(upload.body.id as string);
  const submitted = await h.submittedClaim();
  const rejected = await h.rejectedClaim();
  const approved = await h.submittedClaim({ customer: { tenantId: TENANT_ID, domain: 'contoso.com', name: 'Contoso' } });
  await h.actOk(approved, 'startReview', 'reviewer');
  await h.actOk(approved, 'approve', 'reviewer');
  const withdrawn = await h.createClaim();
  await h.actOk(withdrawn.id, 'withdraw', 'partner', { comment: 'Wrong MPN ID.' });
  const hidden = await h.createClaim(
    { partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID, customer: { tenantId: OTHER_TENANT_ID, domain: 'tailspin.com', name: 'Tailspin' } },
    'otherPartner',
  );
  claimIds.push(editing.id, submitted, rejected, approved, withdrawn.id, hidden.id);
  for (const id of [submitted, rejected, approved]) {
    const claim = await h.getClaim(id);
    for (const doc of claim.body.poe as Array<{ id: string }>) poeIds.push(doc.id);
  }
}

// ---- Realistic valid bodies beside the schema-generated ones ----

const bundledYaml = readFileSync(BUNDLED_POLICY_PATH, 'utf8');
const scenarioDir = resolve(import.meta.dirname, '..', '..', 'scenarios');
const scenarios = readdirSync(scenarioDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .slice(0, 6)
  .map((f) => {
    const { policy: _ignored, ...scenario } = parseYaml(readFileSync(join(scenarioDir, f), 'utf8')) as Json;
    return scenario;
  });

const context: RequestContext = {
  doc,
  pathValues(name) {
    if (name === 'id') {
      return fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...claimIds).map((id) => ({ raw: encodeURIComponent(id), claimId: id })) },
        { weight: 1, arbitrary: fc.constantFrom('claim-missing', '0', ...claimIds.map((id) => id.toUpperCase())).map((raw) => ({ raw })) },
      );
    }
    if (name === 'poeId') return fc.constantFrom(...poeIds, 'poe-missing').map((id) => ({ raw: encodeURIComponent(id) }));
    return undefined;
  },
  examples(op, contentType) {
    switch (op.operationId) {
      case 'createClaim':
        return fc.constantFrom(
          claimFields(),
          claimFields({ products: [{ line: 'businessApplications', product: 'powerBI', subscriptionId: 'sub-1' }] }),
          claimFields({ partnerId: OTHER_PARTNER_ID }),
        );
      case 'editClaim':
        return fc.constantFrom({ name: 'Renamed' }, { products: [{ line: 'microsoft365', workload: 'intune' }] }, { activity: 'usage' });
      case 'actOnClaim':
        return fc.constantFrom(
          {},
          { comment: 'Looks complete.' },
          { reason: 'insufficientPoe', comment: 'The SOW does not name the customer.' },
          { deficiencies: ['poeNotSigned'], comment: 'Please send the signed SOW.' },
          { program: 'OSA', details: 'The PDF opens in current readers.' },
          { outcome: 'upheld', comment: 'Checked again.' },
        );
      case 'addComment':
        return fc.constantFrom({ text: 'Looks complete.' }, { text: 'Bitte prüfen — 確認してください.' });
      case 'simulate':
        return fc.constantFrom(...scenarios);
      case 'evaluateClaim':
        return fc.constantFrom(...claimIds, undefined).map((id) => ({
          claim: { ...(id ? { id } : {}), fields: claimFields(), status: 'editing' },
          asOf: '2026-03-02T17:00:00Z',
        }));
      case 'backtest':
        return contentType === 'application/yaml' ? fc.constant(bundledYaml) : fc.constantFrom({ policy: bundledYaml }, { policy: bundledYaml, since: '2026-01-01' });
      default:
        return undefined;
    }
  },
};

/** A schema of the document with its local `$ref`s pointed at the document (to compile it on its own). */
function rebase(schema: object): object {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"https://cpor.test/generator.json#/')) as object;
}

/** Fills in the caller's token and the claim's current ETag. */
async function concrete(req: FuzzRequest, caller: Caller): Promise<FuzzRequest> {
  const headers = { ...req.headers };
  for (const [name, value] of Object.entries(headers)) {
    if (value !== CURRENT_ETAG) continue;
    const current = req.claimId
      ? await sendRaw(base, { method: 'GET', target: `/v1/claims/${encodeURIComponent(req.claimId)}`, headers: { authorization: reviewerAuth }, note: [] })
      : undefined;
    headers[name] = String(current?.headers.etag ?? '"1"');
  }
  if (caller.authorization) headers.authorization = caller.authorization;
  return { ...req, headers };
}

/** Statuses answered, by operation: printed at the end, to see which paths the requests reached. */
const tally: Record<string, Record<number, number>> = {};
let failed = false;

/** Runs the property for one operation and caller; the failure (shrunk) as a readable message, or undefined. */
async function fuzz(op: Operation, caller: Caller, callerIndex: number): Promise<string | undefined> {
  const seed = SEED + callerIndex * 7919 + [...op.operationId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0);
  let last = '';
  let firstFailure: number | undefined;
  const property = fc.asyncProperty(requestArbitrary(context, op), async (generated) => {
    // Shrinking has a time budget: past it, candidates pass unsent, so the smallest failure found so far is reported.
    if (firstFailure !== undefined && Date.now() - firstFailure > SHRINK_BUDGET_MS) return;
    const req = await concrete(generated, caller);
    let res;
    try {
      res = await sendRaw(base, req);
    } catch (error) {
      firstFailure ??= Date.now();
      last = `no answer (${(error as Error).message})\n${describeExchange(req, undefined, caller.name)}`;
      throw new Error(last, { cause: error });
    }
    const counts = (tally[op.operationId] ??= {});
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    const issues = checkResponse(op, res);
    // A request that raised an exception nothing handled would have ended the real process.
    await new Promise((settle) => setImmediate(settle));
    if (uncaught.length > 0) issues.push(`an exception nobody handled (it ends the process): ${uncaught.splice(0).join('; ')}`);
    if (res.status >= 500 && errorLogs.length > 0) issues.push(`logged: ${errorLogs.slice(-2).join(' | ')}`);
    errorLogs.length = 0;
    if (issues.length > 0) {
      firstFailure ??= Date.now();
      last = `${issues.join('\n  ')}\n${describeExchange(req, res, caller.name)}`;
      throw new Error(last);
    }
  });
  const runs = authenticated(caller) ? RUNS : RUNS_UNAUTHENTICATED;
  const details = await fc.check(property, { seed, numRuns: runs });
  if (!details.failed) return undefined;
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : last;
  return `${op.operationId} (${op.method.toUpperCase()} ${op.path}) as ${caller.name}: ${error}\n  seed ${seed}, path ${details.counterexamplePath}, ${details.numShrinks} shrinks; again: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run test/integration/api-fuzz.test.ts -t ${op.operationId}`;
}

describe('the API under generated requests, from /openapi.json', () => {
  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    await seed();
  }, 60_000);

  afterAll(async () => {
    if (failed || process.env.FUZZ_STATS) {
      const lines = Object.entries(tally).map(
        ([id, counts]) => `  ${id}: ${Object.entries(counts).map(([status, n]) => `${status}×${n}`).join(' ')}`,
      );
      console.info(`API fuzz (FUZZ_SEED=${SEED}, FUZZ_RUNS=${RUNS}): statuses by operation\n${lines.join('\n')}`);
    }
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('documents operations to fuzz, and the seed claims exist', () => {
    expect(operations.length).toBeGreaterThan(10);
    expect(claimIds).toHaveLength(6);
    expect(poeIds.length).toBeGreaterThan(2);
  });

  it('the generated valid values are valid against the schemas they come from (request bodies and parameters)', () => {
    const ajv = new Ajv2020({ strict: false, allowUnionTypes: true, validateSchema: false });
    (addFormatsPlugin as unknown as (a: Ajv2020) => Ajv2020)(ajv);
    ajv.addSchema({ ...doc, $id: 'https://cpor.test/generator.json' }, undefined, undefined, false);
    const schemas = operations.flatMap((op) => [
      ...op.parameters.filter((p) => p.schema).map((p) => ({ where: `${op.operationId} ${p.in} ${p.name}`, schema: p.schema! })),
      ...Object.entries(op.requestBody?.content ?? {})
        .filter(([type]) => type.endsWith('json'))
        .map(([type, media]) => ({ where: `${op.operationId} body ${type}`, schema: media.schema! })),
    ]);
    expect(schemas.length).toBeGreaterThan(20);
    for (const { where, schema } of schemas) {
      const validate = ajv.compile({ $id: `https://cpor.test/check/${encodeURIComponent(where)}`, $defs: {}, allOf: [rebase(schema)] });
      fc.assert(
        fc.property(schemaArbitrary(doc, schema), (value) => {
          if (!validate(value)) throw new Error(`${where}: ${JSON.stringify(value)?.slice(0, 300)}: ${ajv.errorsText(validate.errors)}`);
        }),
        { seed: SEED, numRuns: 30 },
      );
    }
  });

  it('the answer checker refuses an undocumented status, a wrong content type and a body off its schema', () => {
    const getClaim = operations.find((op) => op.operationId === 'getClaim')!;
    const answer = (status: number, type: string, body: unknown) => ({
      status,
      headers: { 'content-type': type },
      body: Buffer.from(JSON.stringify(body)),
    });
    expect(checkResponse(getClaim, answer(200, 'application/json', { id: 1 })).join()).toMatch(/does not match the documented schema/);
    expect(checkResponse(getClaim, answer(418, 'application/problem+json', {})).join()).toMatch(/status 418 is not documented/);
    expect(checkResponse(getClaim, answer(404, 'application/json', {})).join()).toMatch(/must be application\/problem\+json/);
    expect(checkResponse(getClaim, answer(500, 'application/problem+json', {})).join()).toMatch(/answered 500/);
  });

  it.each(operations.map((op) => [op.operationId, op] as const))(
    '%s: every answer, to every caller, is below 500, documented, and valid against its schema',
    async (_id, op) => {
      const failures: string[] = [];
      for (const [i, caller] of callers.entries()) {
        const failure = await fuzz(op, caller, i);
        if (failure) failures.push(failure);
      }
      failed ||= failures.length > 0;
      if (failures.length > 0) expect.fail(`${failures.length} of ${callers.length} callers found a defect:\n\n${failures.join('\n\n')}\n`);
    },
    60_000,
  );

  it('afterwards the service is healthy and every history chain holds (cpor audit verify)', async () => {
    const health = await sendRaw(base, { method: 'GET', target: '/healthz', headers: {}, note: [] });
    expect(health.status, health.body.toString('utf8')).toBe(200);

    const saved = { DATA_DIR: process.env.DATA_DIR, DATABASE_URL: process.env.DATABASE_URL };
    process.env.DATA_DIR = dataDir;
    delete process.env.DATABASE_URL;
    let out = '';
    try {
      const code = await main(['audit', 'verify'], { stdout: (s) => (out += s), stderr: (s) => (out += s) });
      expect(code, out).toBe(0);
      expect(out).toMatch(/claims, \d+ history entries checked: every chain holds/);
      expect(Number(/^(\d+) claims/m.exec(out)?.[1])).toBeGreaterThanOrEqual(claimIds.length);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
