import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli';
import { digestInput, type DecisionRecord } from '../../src/claims/decision-digest';
import type { EvaluationInput } from '../../src/evaluation/evaluate-claim';
import { flushDecisionLog } from '../../src/http/app';
import { createDecisionQueue } from '../../src/http/evaluate-routes';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { memoryDatabase, sqliteDatabase, useDatabase } from '../support/databases';
import { httpHelpers, PARTNER_ID, TENANT_ID, type CallerName } from '../support/http-requests';
import { policyYaml, positionOf } from '../support/policy-factory';
import { createTestApp, type TestApp, type TestAppOptions } from '../support/test-app';
import { claimFields, poePayload } from '../support/factories';

const BIZAPPS = [{ line: 'businessApplications' as const, product: 'dynamics365Sales' as const, subscriptionId: 'sub-7731' }];
const BIZAPPS_POE = { customerSigned: 'true', signedOn: '2026-02-20', products: 'dynamics365Sales', describesWork: 'true' };
const POE = poePayload();

/** An evaluation input: a complete claim in `editing` with one good PoE, created at TEST_START; overrides replace whole parts. */
function evaluationInput(claim: Partial<EvaluationInput['claim']> = {}, rest: Partial<Omit<EvaluationInput, 'claim'>> = {}): EvaluationInput {
  return {
    claim: { fields: claimFields(), status: 'editing', poe: [{ ...POE }], history: [{ at: '2026-03-02T17:00:00Z', to: 'editing' }], ...claim },
    asOf: '2026-03-02T18:00:00Z',
    ...rest,
  };
}

const evaluationsOf = (records: DecisionRecord[]) => records.filter((r) => r.kind === 'evaluation');

describe.each([memoryDatabase, sqliteDatabase])('policy operations over HTTP ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  const start = async (options: TestAppOptions = {}) => {
    await t?.close();
    t = await createTestApp({ database: db, ...options });
    h = httpHelpers(t);
  };
  beforeEach(() => start());
  afterEach(async () => {
    await flushDecisionLog(t.app);
    await t.close();
  });

  const evaluate = async (body: unknown, caller: CallerName = 'reviewer') =>
    h.api().post('/v1/evaluate').set('Authorization', await h.auth(caller)).send(body as object);

  describe('POST /v1/evaluate', () => {
    it('answers the decision only by default, each rule explained with ?explain=full, and records the decision with the claim', async () => {
      const { id } = await h.createClaim();
      const input = evaluationInput({ id });
      const plain = await evaluate(input, 'partner');
      expect(plain.status, JSON.stringify(plain.body)).toBe(200);
      for (const result of [...plain.body.submissionRequirements.results, ...plain.body.deficiencies, ...plain.body.eligibility]) {
        expect(result).not.toHaveProperty('summary');
        expect(result).not.toHaveProperty('explanation');
      }
      const res = await h.api().post('/v1/evaluate?explain=full').set('Authorization', await h.auth('partner')).send(input);
      const { submissionRequirements, deficiencies, eligibility, ...verdicts } = res.body;
      expect(plain.body).toMatchObject(verdicts);
      expect(plain.body.eligibility).toEqual(eligibility.map(({ explanation: _e, summary: _s, ...rest }: Record<string, unknown>) => rest));
      expect(plain.body.deficiencies).toHaveLength(deficiencies.length);
      expect(plain.body.submissionRequirements.passed).toBe(submissionRequirements.passed);
      expect((await h.api().post('/v1/evaluate?explain=yes').set('Authorization', await h.auth('partner')).send(input)).status).toBe(400);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ policy: { id: 'cpor', version: '2026.1' }, asOf: '2026-03-02T18:00:00.000Z', status: 'editing', substatus: null });
      expect(res.body.allowedEvents).toContainEqual({ event: 'submit', roles: ['billingAdmin', 'globalAdmin', 'incentivesAdmin'] });
      expect(res.body.editableFields).toContain('products');
      expect(res.body.submissionRequirements.passed).toBe(true);
      for (const result of [...res.body.submissionRequirements.results, ...res.body.deficiencies, ...res.body.eligibility]) {
        expect(typeof result.summary).toBe('string');
        expect(result.explanation).toBeTypeOf('object');
      }
      expect(res.body.eligibility.map((e: { program: string }) => e.program)).toEqual(['OSU', 'OSA']);

      await vi.waitFor(async () => expect(evaluationsOf(await t.store.listDecisions(id, 100))).toHaveLength(2));
      const [decision] = evaluationsOf(await t.store.listDecisions(id, 100));
      expect(decision).toMatchObject({
        claimId: id,
        at: t.clock.now().toISOString(), // when it was answered, not the asOf the caller chose
        author: { role: 'incentivesAdmin', id: 'li@fabrikam.com' },
        kind: 'evaluation',
        policy: { id: 'cpor', version: '2026.1' },
        inputDigest: digestInput(input),
        rulesFired: res.body.rulesFired,
      });
      expect(decision!.result).toMatchObject({ asOf: '2026-03-02T18:00:00.000Z', status: 'editing', requirementsPassed: true, allowedEvents: expect.arrayContaining(['submit']) });
      const log = await h.api().get(`/v1/claims/${id}/decisions`).set('Authorization', await h.auth('partner'));
      expect(log.status).toBe(200);
      expect(log.body.items).toContainEqual(expect.objectContaining({ kind: 'evaluation', inputDigest: digestInput(input) }));
    });

    it('counts rule-cache hits and misses in /metrics: the same facts hit, other facts miss; EVALUATION_CACHE_SIZE=0 never hits', async () => {
      const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
      const metrics = async () => (await h.api().get('/metrics')).text;
      const first = await evaluate(evaluationInput());
      const again = await evaluate(evaluationInput());
      await evaluate(evaluationInput({ poe: [] }));
      expect(again.body).toEqual(first.body);
      let text = await metrics();
      expect(counter(text, 'cpor_evaluation_cache_hits_total')).toBe(1);
      expect(counter(text, 'cpor_evaluation_cache_misses_total')).toBe(2);
      expect(counter(text, 'cpor_evaluation_cache_entries')).toBe(2);

      await flushDecisionLog(t.app);
      await start({ limits: { evaluationCacheSize: 0 } });
      const cold = await evaluate(evaluationInput());
      await evaluate(evaluationInput());
      expect(cold.body).toEqual(first.body);
      text = await metrics();
      expect(counter(text, 'cpor_evaluation_cache_hits_total')).toBe(0);
      expect(counter(text, 'cpor_evaluation_cache_misses_total')).toBe(2);
    });

    it('says what an event in the request would do, without applying it', async () => {
      const res = await evaluate(evaluationInput({}, { event: { type: 'submit', role: 'incentivesAdmin', partnerId: PARTNER_ID } }), 'programManager');
      expect(res.status).toBe(200);
      expect(res.body.event).toEqual({ type: 'submit', allowed: true, to: 'submitted' });
      const refused = await evaluate(evaluationInput({}, { event: { type: 'approve', role: 'reviewer' } }));
      expect(refused.body.event).toMatchObject({ type: 'approve', allowed: false, refusal: { code: expect.any(String) } });
    });

    it("keeps a partner's evaluation of a claim it may not see out of that claim's log", async () => {
      const { id } = await h.createClaim();
      const res = await evaluate(evaluationInput({ id }), 'otherPartner');
      expect(res.status).toBe(200);
      await flushDecisionLog(t.app);
      expect(evaluationsOf(await t.store.listDecisions(id, 100))).toEqual([]);
    });

    it('refuses bad input with 400 and every problem at its JSONPath', async () => {
      const input = evaluationInput({ status: 'approvedish' as never, fields: { customer: { tenantId: 'x', domain: 'contoso.com', name: 'Contoso' } } });
      const { asOf: _asOf, ...withoutAsOf } = input;
      const res = await evaluate(withoutAsOf);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalidPayload');
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { path: '$.asOf', message: '"asOf" is required' },
          expect.objectContaining({ path: '$.claim.status' }),
          { path: '$.claim.fields.customer.tenantId', message: 'must match format "uuid"' },
        ]),
      );

      const mismatch = await evaluate(evaluationInput({ status: 'submitted' }));
      expect(mismatch.status).toBe(400);
      expect(mismatch.body).toMatchObject({ code: 'historyMismatch', errors: [{ path: '$.claim.history[0].to' }] });
    });

    it('evaluates under a named policy version, and answers 404 for one that is not loaded', async () => {
      const named = await evaluate(evaluationInput({}, { policyVersion: '2026.1' }));
      expect(named.status).toBe(200);
      expect(named.body.policy).toEqual({ id: 'cpor', version: '2026.1' });
      const unknown = await evaluate(evaluationInput({}, { policyVersion: '1999.9' }));
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 'unknownPolicyVersion' });
      expect(unknown.body.detail).toContain('2026.1');
    });

    it('needs a token; any role may call it', async () => {
      expect((await h.api().post('/v1/evaluate').send(evaluationInput())).status).toBe(401);
      for (const caller of ['partner', 'customer', 'reviewer', 'programManager'] as const) {
        expect((await evaluate(evaluationInput(), caller)).status, caller).toBe(200);
      }
    });
  });

  describe('GET /v1/policies', () => {
    it('lists the versions with the one in effect to reviewers and program managers; partners and customers get 403', async () => {
      for (const caller of ['reviewer', 'programManager'] as const) {
        const res = await h.api().get('/v1/policies').set('Authorization', await h.auth(caller));
        expect(res.status).toBe(200);
        expect(res.body.versions).toEqual([
          {
            id: 'cpor',
            version: '2026.1',
            effective: '2026-01-01T00:00:00.000Z',
            digest: expect.stringMatching(/^[0-9a-f]{64}$/),
            loadedAt: expect.any(String),
            active: true,
            inEffect: true,
            shadow: false,
            claims: 0,
          },
        ]);
      }
      for (const caller of ['partner', 'customer'] as const) {
        const res = await h.api().get('/v1/policies').set('Authorization', await h.auth(caller));
        expect(res.status, caller).toBe(403);
        expect(res.body.code).toBe('forbiddenRole');
      }
    });
  });

  describe('GET /v1/reports/assessment', () => {
    /** A claim taken through review to approval (consent pending). */
    async function approvedClaim(overrides: Parameters<typeof h.createClaim>[0] = {}, poe?: Record<string, string>) {
      const { id } = await h.createClaim(overrides);
      expect((await h.uploadPoe(id, 'partner', poe)).status).toBe(201);
      await h.actOk(id, 'submit', 'partner');
      await h.actOk(id, 'startReview', 'reviewer');
      await h.actOk(id, 'approve', 'reviewer', {});
      return id;
    }

    it('lists claims sent for assessment with tenant, subscriptions and eligibility per program, as JSON and CSV', async () => {
      const bizApps = await approvedClaim({ products: BIZAPPS, customer: { tenantId: TENANT_ID, domain: 'contoso.com', name: 'Contoso, "Ltd."' } }, BIZAPPS_POE);
      const m365 = await approvedClaim({ activity: 'deployment' });
      await t.advance('2026-03-10T07:00:00.000Z'); // both consent windows passed (7 days from Monday 2 March)
      const pending = await approvedClaim();

      const res = await h.api().get('/v1/reports/assessment').set('Authorization', await h.auth('reviewer'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ programs: ['OSU', 'OSA'], from: null, to: null, generatedAt: '2026-03-10T07:00:00.000Z' });
      expect(res.body.items.map((row: { claimId: string }) => row.claimId).sort()).toEqual([bizApps, m365].sort());
      expect(res.body.items.map((row: { claimId: string }) => row.claimId)).not.toContain(pending);
      const row = res.body.items.find((r: { claimId: string }) => r.claimId === bizApps);
      expect(row).toEqual({
        claimId: bizApps,
        partnerId: PARTNER_ID,
        mpnId: PARTNER_ID,
        tenantId: TENANT_ID,
        customerName: 'Contoso, "Ltd."',
        activity: 'preSales',
        workloads: [],
        businessApplications: [{ product: 'dynamics365Sales', subscriptionId: 'sub-7731' }],
        subscriptionIds: ['sub-7731'],
        programs: [
          { code: 'OSU', eligible: false, summary: expect.any(String) },
          { code: 'OSA', eligible: true, summary: expect.any(String) },
        ],
        sentForAssessmentAt: '2026-03-10T07:00:00.000Z',
        policy: { id: 'cpor', version: '2026.1' },
      });
      expect(res.body.items.find((r: { claimId: string }) => r.claimId === m365)).toMatchObject({
        workloads: ['teams'],
        subscriptionIds: [],
        programs: [expect.objectContaining({ code: 'OSU', eligible: true }), expect.objectContaining({ code: 'OSA', eligible: false })],
      });

      for (const csv of [
        await h.api().get('/v1/reports/assessment?format=csv').set('Authorization', await h.auth('programManager')),
        await h.api().get('/v1/reports/assessment').set('Authorization', await h.auth('programManager')).set('Accept', 'text/csv'),
      ]) {
        expect(csv.status).toBe(200);
        expect(csv.headers['content-type']).toMatch(/^text\/csv/);
        const lines = csv.text.split('\r\n');
        expect(lines.at(-1)).toBe('');
        expect(lines[0]).toBe(
          'claimId,partnerId,mpnId,tenantId,customerName,activity,workloads,businessApplications,subscriptionIds,OSU,OSA,sentForAssessmentAt,policyId,policyVersion',
        );
        expect(lines).toHaveLength(4);
        expect(lines).toContain(
          `${bizApps},${PARTNER_ID},${PARTNER_ID},${TENANT_ID},"Contoso, ""Ltd.""",preSales,,dynamics365Sales,sub-7731,false,true,2026-03-10T07:00:00.000Z,cpor,2026.1`,
        );
        expect(lines).toContain(`${m365},${PARTNER_ID},${PARTNER_ID},${TENANT_ID},Contoso,deployment,teams,,,true,false,2026-03-10T07:00:00.000Z,cpor,2026.1`);
      }
    });

    it('filters on the instant claims were sent for assessment; a date covers its whole day in the policy time zone', async () => {
      await approvedClaim();
      await t.advance('2026-03-10T07:00:00.000Z'); // sent at 00:00 on 10 March in Los Angeles
      const count = async (query: string) => {
        const res = await h.api().get(`/v1/reports/assessment?${query}`).set('Authorization', await h.auth('reviewer'));
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.items.length as number;
      };
      expect(await count('from=2026-03-10')).toBe(1);
      expect(await count('from=2026-03-11')).toBe(0);
      expect(await count('to=2026-03-10')).toBe(1);
      expect(await count('to=2026-03-09')).toBe(0);
      expect(await count('from=2026-03-10T07:00:00.001Z')).toBe(0);
      expect(await count('from=2026-03-01T00:00:00Z&to=2026-03-10T07:00:00.001Z')).toBe(1);
      expect(await count('from=2026-03-01T00:00:00Z&to=2026-03-10T07:00:00.000Z')).toBe(0);
      const bad = await h.api().get('/v1/reports/assessment?from=yesterday').set('Authorization', await h.auth('reviewer'));
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe('$.from');
    });

    it('a date bound on the last day the calendar knows (9999-12-31) covers that day: an answer, not a server error', async () => {
      await approvedClaim();
      await t.advance('2026-03-10T07:00:00.000Z');
      const res = await h.api().get('/v1/reports/assessment?from=1970-01-01&to=9999-12-31').set('Authorization', await h.auth('reviewer'));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.items).toHaveLength(1);
      expect(res.body.from).toBe('1970-01-01T08:00:00.000Z');
    });

    it('is for reviewers and program managers only', async () => {
      for (const caller of ['partner', 'customer'] as const) {
        expect((await h.api().get('/v1/reports/assessment').set('Authorization', await h.auth(caller))).status, caller).toBe(403);
      }
    });
  });

  describe('POST /v1/backtest', () => {
    const candidate = () => policyYaml({ version: '2026.2-candidate', deadlines: { partnerResponse: { businessDays: 10 } } });

    /** One claim left without an answer to a request for information (rejected after 5 business days, not after 10), one approved. */
    async function history() {
      const unanswered = await h.submittedClaim();
      await h.actOk(unanswered, 'startReview', 'reviewer');
      await h.actOk(unanswered, 'requestInfo', 'reviewer', { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page' });
      const approved = await h.submittedClaim();
      await h.actOk(approved, 'startReview', 'reviewer');
      await h.actOk(approved, 'approve', 'reviewer', {});
      await t.advance('2026-03-12T17:00:00Z');
      expect((await h.getClaim(unanswered)).body).toMatchObject({ status: 'rejected', reason: 'noPartnerResponse' });
      return { unanswered, approved };
    }

    it('reports exactly the claim a longer partnerResponse deadline changes, as JSON and as CSV', async () => {
      const { unanswered, approved } = await history();
      const res = await h.api().post('/v1/backtest').set('Authorization', await h.auth('programManager')).send({ policy: candidate() });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        candidate: { id: 'cpor', version: '2026.2-candidate' },
        until: '2026-03-12T17:00:00.000Z',
        since: null,
        totals: { claims: 2, changed: 1, unchanged: 1, skipped: 0 },
      });
      const changed = res.body.claims.filter((c: { changed: boolean }) => c.changed);
      expect(changed.map((c: { claimId: string }) => c.claimId)).toEqual([unanswered]);
      expect(changed[0]).toMatchObject({
        baseline: { status: 'rejected', reason: 'noPartnerResponse' },
        candidate: { status: 'partnerActionRequired', reason: null },
      });
      expect(res.body.claims.find((c: { claimId: string }) => c.claimId === approved)).toMatchObject({ changed: false, changes: [] });

      const csv = await h.api()
        .post('/v1/backtest?format=csv')
        .set('Authorization', await h.auth('reviewer'))
        .set('Content-Type', 'application/yaml')
        .send(candidate());
      expect(csv.status, csv.text).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const lines = csv.text.trimEnd().split('\r\n');
      expect(lines[0]).toMatch(/^claimId,changed,/);
      expect(lines).toHaveLength(3);
      expect(lines.find((line) => line.startsWith(`${unanswered},`))).toMatch(new RegExp(`^${unanswered},true,.*rejected,partnerActionRequired,noPartnerResponse,`));
      expect(lines.find((line) => line.startsWith(`${approved},`))).toMatch(new RegExp(`^${approved},false,`));

      const accept = await h.api().post('/v1/backtest').set('Authorization', await h.auth('reviewer')).set('Accept', 'text/csv').send({ policy: candidate() });
      expect(accept.headers['content-type']).toMatch(/^text\/csv/);
    });

    it('takes since and until: from the body, or from the query with a YAML body', async () => {
      await history();
      const early = await h.api()
        .post('/v1/backtest')
        .set('Authorization', await h.auth('reviewer'))
        .send({ policy: candidate(), until: '2026-03-05T00:00:00Z' });
      // Before the old deadline fell due: only the pending run's due date differs.
      expect(early.body).toMatchObject({ until: '2026-03-05T00:00:00.000Z', totals: { claims: 2, changed: 1, byField: { deadlines: 1 } } });
      expect(early.body.claims.find((c: { changed: boolean }) => c.changed)).toMatchObject({
        baseline: { status: 'partnerActionRequired' },
        candidate: { status: 'partnerActionRequired' },
        changes: [expect.objectContaining({ field: 'deadlines' })],
      });
      const none = await h.api()
        .post('/v1/backtest?since=2026-03-03')
        .set('Authorization', await h.auth('reviewer'))
        .set('Content-Type', 'application/yaml')
        .send(candidate());
      expect(none.status).toBe(200);
      expect(none.body).toMatchObject({ since: '2026-03-03T08:00:00.000Z', totals: { claims: 0 } });
    });

    it('answers 422 with the located errors of a candidate that does not load', async () => {
      const broken = policyYaml({ deadlines: { partnerResponse: { businessDays: 'five' } } });
      const res = await h.api().post('/v1/backtest').set('Authorization', await h.auth('programManager')).send({ policy: broken });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalidPolicy');
      const at = positionOf(broken, 'businessDays: ^five');
      expect(res.body.errors).toContainEqual({ ...at, path: '$.deadlines.partnerResponse.businessDays', code: expect.any(String), message: expect.any(String) });
      expect(res.body.detail).toContain(`line ${at.line}`);

      const yaml = await h.api().post('/v1/backtest').set('Authorization', await h.auth('programManager')).set('Content-Type', 'application/yaml').send('id: [');
      expect(yaml.status).toBe(422);
      expect(yaml.body.errors[0]).toMatchObject({ line: 1, column: expect.any(Number) });
    });

    it('refuses partners and customers, a body that is neither JSON nor YAML, and a missing policy', async () => {
      for (const caller of ['partner', 'customer'] as const) {
        expect((await h.api().post('/v1/backtest').set('Authorization', await h.auth(caller)).send({ policy: candidate() })).status, caller).toBe(403);
      }
      const text = await h.api().post('/v1/backtest').set('Authorization', await h.auth('reviewer')).set('Content-Type', 'text/plain').send('id: x');
      expect(text.status).toBe(415);
      const missing = await h.api().post('/v1/backtest').set('Authorization', await h.auth('reviewer')).send({});
      expect(missing.status).toBe(400);
      expect(missing.body.errors).toEqual([{ path: '$.policy', message: '"policy" is required' }]);
    });

    it('refuses more claims than limits.backtestMaxClaims (422 tooManyClaims)', async () => {
      await start({ limits: { backtestMaxClaims: 1 } });
      await h.createClaim();
      await h.createClaim();
      const res = await h.api().post('/v1/backtest').set('Authorization', await h.auth('reviewer')).send({ policy: candidate() });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'tooManyClaims', claims: 2, limit: 1 });
    });

    it('runs one backtest at a time (409 backtestRunning)', async () => {
      await h.createClaim();
      const allClaimIds = t.store.allClaimIds.bind(t.store);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let entered = false;
      t.store.allClaimIds = async () => {
        entered = true;
        await held;
        return allClaimIds();
      };
      const auth = await h.auth('reviewer');
      const first = h.api().post('/v1/backtest').set('Authorization', auth).send({ policy: candidate() }).then((res) => res);
      await vi.waitFor(() => expect(entered).toBe(true), { timeout: 10_000 }); // the backtest starts in a worker thread
      const second = await h.api().post('/v1/backtest').set('Authorization', auth).send({ policy: candidate() });
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('backtestRunning');
      release();
      expect((await first).status).toBe(200);
      const third = await h.api().post('/v1/backtest').set('Authorization', auth).send({ policy: candidate() });
      expect(third.status).toBe(200);
    });
  });
});

describe('GET /v1/policies over a policy folder', () => {
  let dir: string;
  let registry: PolicyRegistry;
  let t: TestApp;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpor-policies-'));
    writeFileSync(join(dir, 'cpor-2026.1.yaml'), policyYaml());
    writeFileSync(join(dir, 'cpor-2026.2.yaml'), policyYaml({ version: '2026.2', effective: '2026-04-01T00:00:00Z' }));
    writeFileSync(join(dir, 'cpor-broken.yaml'), policyYaml({ version: '2026.3', deadlines: { reviewStart: { businessDays: 'five' } } }));
    const clock = { now: () => t?.clock.now() ?? new Date('2026-03-02T17:00:00Z') };
    registry = await createPolicyRegistry({ path: dir, clock });
    t = await createTestApp({ policies: registry });
  });
  afterEach(async () => {
    registry.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks the version in effect now and lists the files that do not load with their located errors', async () => {
    const h = httpHelpers(t);
    const res = await h.api().get('/v1/policies').set('Authorization', await h.auth('programManager'));
    expect(res.status).toBe(200);
    expect(res.body.versions.map((v: { version: string; inEffect: boolean }) => [v.version, v.inEffect])).toEqual([
      ['2026.1', true],
      ['2026.2', false],
    ]);
    expect(res.body.status).toMatchObject({ ok: false, broken: [{ file: join(dir, 'cpor-broken.yaml'), errors: [expect.stringMatching(/cpor-broken\.yaml:\d+:\d+ error .*\$\.deadlines\.reviewStart\.businessDays/)] }] });
    expect(res.body.status).not.toHaveProperty('versions');

    await t.advance('2026-04-01T00:00:00Z');
    const later = await h.api().get('/v1/policies').set('Authorization', await h.auth('reviewer'));
    expect(later.body.versions.map((v: { version: string; inEffect: boolean }) => [v.version, v.inEffect])).toEqual([
      ['2026.1', false],
      ['2026.2', true],
    ]);
    const evaluated = await h.api()
      .post('/v1/evaluate')
      .set('Authorization', await h.auth('reviewer'))
      .send(evaluationInput({}, { policyVersion: '2026.2' }));
    expect(evaluated.body.policy).toEqual({ id: 'cpor', version: '2026.2' });
  });
});

describe('cpor evaluate', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cpor-evaluate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { code, stdout, stderr };
  }
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('prints the evaluation of a JSON or YAML file; --as-of overrides the file', async () => {
    const input = evaluationInput({}, { event: { type: 'submit', role: 'incentivesAdmin', partnerId: PARTNER_ID } });
    const json = await run('evaluate', file('claim.json', JSON.stringify(input)));
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const evaluation = JSON.parse(json.stdout);
    expect(evaluation).toMatchObject({ policy: { id: 'cpor', version: '2026.1' }, status: 'editing', event: { allowed: true, to: 'submitted' } });
    expect(evaluation.submissionRequirements.results[0].summary).toEqual(expect.any(String));

    const yaml = file(
      'claim.yaml',
      `claim:\n  status: submitted\n  fields: ${JSON.stringify(claimFields())}\n  poe: [${JSON.stringify(POE)}]\n  history:\n    - { at: 2026-03-02T17:00:00Z, to: editing }\n    - { at: 2026-03-02T17:10:00Z, to: submitted }\nasOf: 2026-03-03T00:00:00Z\n`,
    );
    const later = await run('evaluate', yaml, '--as-of', '2026-03-20T00:00:00Z');
    expect(later.code, later.stderr).toBe(0);
    expect(JSON.parse(later.stdout)).toMatchObject({ asOf: '2026-03-20T00:00:00.000Z', status: 'submitted', overdue: expect.arrayContaining(['reviewStart']) });
  });

  it('a bad file is a located error and exit status 1', async () => {
    const bad = file('bad.yaml', 'claim:\n  status: approvedish\n  fields: {}\nasOf: 2026-03-03T00:00:00Z\n');
    const res = await run('evaluate', bad);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`${bad}:2:3: $.claim.status: must be one of`);

    const history = file(
      'history.yaml',
      `claim:\n  status: submitted\n  fields: {}\n  history:\n    - { at: 2026-03-02T17:00:00Z, to: editing }\nasOf: 2026-03-03T00:00:00Z\n`,
    );
    expect((await run('evaluate', history)).stderr).toMatch(new RegExp(`^${history.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: .*history ends in editing`));

    const syntax = await run('evaluate', file('syntax.json', '{"claim": {'));
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/syntax\.json:1:\d+: /);
    const version = await run('evaluate', file('version.json', JSON.stringify(evaluationInput({}, { policyVersion: '1999.9' }))));
    expect(version.code).toBe(1);
    expect(version.stderr).toMatch(/version\.json:1:\d+: Policy cpor version 1999\.9 is not loaded/);
    expect((await run('evaluate', join(dir, 'missing.json'))).stderr).toContain('cannot read: ENOENT');
  });

  it('--help explains it; a missing file name is a usage error', async () => {
    const help = await run('evaluate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: cpor evaluate FILE \[--policy FILE\] \[--as-of INSTANT\]/);
    expect((await run('evaluate')).code).toBe(2);
    expect((await run('evaluate', 'x.json', '--as-of', 'tomorrow')).code).toBe(2);
  });
});

describe('the decision queue of evaluations', () => {
  const record = (n: number): DecisionRecord => ({
    claimId: `claim-${n}`,
    at: '2026-03-02T17:00:00.000Z',
    kind: 'evaluation',
    policy: { id: 'cpor', version: '2026.1' },
    inputDigest: String(n),
    result: {},
    rulesFired: [],
  });
  function fakeStore(fail = false) {
    const writes: string[][] = [];
    const ids = (records: readonly DecisionRecord[]) => records.map((r) => r.claimId!);
    return {
      writes,
      recordDecision: async (r: DecisionRecord) => {
        if (fail) throw new Error('disk full');
        writes.push(ids([r]));
      },
      transaction: async <T>(fn: (tx: { appendDecisions(records: readonly DecisionRecord[]): Promise<void> }) => Promise<T>) =>
        fn({
          appendDecisions: async (records) => {
            if (fail) throw new Error('disk full');
            writes.push(ids(records));
          },
        }),
    };
  }

  it('writes nothing before the current turn ends, then what queued up in arrival order, in batches', async () => {
    const store = fakeStore();
    const queue = createDecisionQueue({ store: store as never, logger: { error: () => {} } as never, maxBatch: 2 });
    for (let n = 1; n <= 5; n++) queue.push(() => record(n));
    await Promise.resolve();
    expect(store.writes).toEqual([]);
    await queue.flush();
    expect(store.writes).toEqual([['claim-1', 'claim-2'], ['claim-3', 'claim-4'], ['claim-5']]);
    queue.push(() => null);
    await queue.flush();
    expect(store.writes).toHaveLength(3);
  });

  it('waits up to intervalMs for a batch: what queued meanwhile goes in one transaction, a full batch at the next turn', async () => {
    const store = fakeStore();
    const queue = createDecisionQueue({ store: store as never, logger: { error: () => {} } as never, maxBatch: 3, intervalMs: 40 });
    queue.push(() => record(1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    queue.push(() => record(2));
    expect(store.writes).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(store.writes).toEqual([['claim-1', 'claim-2']]);
    for (let n = 3; n <= 5; n++) queue.push(() => record(n));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(store.writes).toEqual([['claim-1', 'claim-2'], ['claim-3', 'claim-4', 'claim-5']]);
    await queue.flush();
  });

  it('logs what it could not write, and goes on', async () => {
    const errors: Array<[Record<string, unknown>, string]> = [];
    const queue = createDecisionQueue({ store: fakeStore(true) as never, logger: { error: (obj: never, msg: never) => errors.push([obj, msg]) } as never });
    queue.push(() => record(1));
    queue.push(() => record(2));
    queue.push(() => {
      throw new Error('bad input');
    });
    await queue.flush();
    expect(errors).toEqual([[expect.objectContaining({ lost: 3 }), 'decision log: evaluation records could not be written']]);
  });

  it('is full at maxPending, and has room again once the writer took the records', async () => {
    const queue = createDecisionQueue({ store: fakeStore() as never, logger: { error: () => {} } as never, maxPending: 2 });
    queue.push(() => record(1));
    expect(queue.full).toBe(false);
    queue.push(() => record(2));
    expect(queue.full).toBe(true);
    await queue.room();
    expect(queue.pending).toBe(0);
    await queue.flush();
  });
});
