/**
 * GET /v1/reports/sla, GET /v1/reports/shadow and GET /v1/decisions (the decision log across
 * claims): numbers derived from claims moved through the API, as JSON and CSV.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { httpHelpers, type HttpHelpers } from '../support/http-requests';
import { policyYaml } from '../support/policy-factory';
import { createTestApp, TEST_START, type TestApp } from '../support/test-app';

interface SlaRow {
  deadline: string;
  started: number;
  met: number;
  fired: number;
  paused: number;
  open: number;
  shareMet: number | null;
  medianBusinessDays: number | null;
  p90BusinessDays: number | null;
}

let dir: string;
let registry: PolicyRegistry;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpor-reports-'));
  await writeFile(join(dir, 'cpor.yaml'), policyYaml());
  await writeFile(
    join(dir, 'cpor-candidate.yaml'),
    policyYaml({ version: '2026.2-candidate', shadow: true, deadlines: { reviewStart: { businessDays: 3 } } }),
  );
  registry = await createPolicyRegistry({ path: dir, clock: { now: () => new Date(TEST_START) } });
});
afterAll(async () => {
  registry.stop();
  await rm(dir, { recursive: true, force: true });
});

let t: TestApp;
let h: HttpHelpers;
beforeEach(async () => {
  t = await createTestApp({ policies: registry });
  h = httpHelpers(t);
});
afterEach(async () => {
  await t.close();
});

const get = async (path: string, caller: Parameters<HttpHelpers['auth']>[0] = 'programManager') =>
  h.api().get(path).set('Authorization', await h.auth(caller));

/** Three claims from Monday 2 March: approved (consent window runs out), left submitted, asked for information (never answered); then 10 March. */
async function traffic() {
  const approved = await h.claimIn('approved.consentPending');
  const waiting = await h.submittedClaim();
  const asked = await h.claimIn('partnerActionRequired');
  await t.advance('2026-03-10T07:00:00.000Z');
  return { approved, waiting, asked };
}

describe('GET /v1/reports/sla', () => {
  it('counts each deadline started, met, fired and paused, the share met and the median and p90 of business days used, by week and product line', async () => {
    await traffic();
    const res = await get('/v1/reports/sla?groupBy=week');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const row = (name: string) => (res.body.deadlines as SlaRow[]).find((r) => r.deadline === name);
    // reviewStart: met the same day twice (0 business days), fired once after its 5.
    expect(row('reviewStart')).toEqual({
      deadline: 'reviewStart',
      started: 3,
      met: 2,
      fired: 1,
      paused: 0,
      open: 0,
      shareMet: 2 / 3,
      medianBusinessDays: 0,
      p90BusinessDays: 4,
    });
    // decisionTarget: paused while the partner was asked, met when the claim was rejected for no answer; one still open.
    expect(row('decisionTarget')).toMatchObject({ started: 3, met: 2, fired: 0, paused: 1, open: 1, shareMet: 1, medianBusinessDays: 0 });
    expect(row('partnerResponse')).toMatchObject({ started: 1, fired: 1, shareMet: 0, medianBusinessDays: 5, p90BusinessDays: 5 });
    expect(row('consentWindow')).toMatchObject({ started: 1, fired: 1, medianBusinessDays: 5 });
    expect(row('disputeWindow')).toMatchObject({ started: 1, open: 1, medianBusinessDays: null });
    // The dispute window started on Tuesday 10 March (the rejection): the week after.
    expect(res.body.groups.map((g: { group: string }) => g.group)).toEqual(['2026-03-02', '2026-03-09']);
    expect(res.body.groups[1].deadlines.map((r: SlaRow) => r.deadline)).toEqual(['disputeWindow']);
    expect(res.body.groups[0].deadlines.find((r: SlaRow) => r.deadline === 'reviewStart')).toEqual(row('reviewStart'));

    const lines = await get('/v1/reports/sla?groupBy=productLine&productLine=microsoft365');
    expect(lines.body.groups.map((g: { group: string }) => g.group)).toEqual(['microsoft365']);
    const none = await get('/v1/reports/sla?productLine=businessApplications');
    expect((none.body.deadlines as SlaRow[]).every((r) => r.started === 0)).toBe(true);
    const later = await get('/v1/reports/sla?from=2026-03-03');
    expect((later.body.deadlines as SlaRow[]).find((r) => r.deadline === 'reviewStart')!.started).toBe(0);
  });

  it('answers CSV with a header, a row per group and deadline, and refuses partners and bad queries', async () => {
    await traffic();
    const csv = await get('/v1/reports/sla?format=csv&groupBy=week');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('group,deadline,started,met,fired,paused,open,shareMet,medianBusinessDays,p90BusinessDays');
    expect(lines).toContain('all,partnerResponse,1,0,1,0,0,0,5,5');
    expect(lines).toContain('2026-03-02,partnerResponse,1,0,1,0,0,0,5,5');
    expect((await get('/v1/reports/sla', 'partner')).status).toBe(403);
    const bad = await get('/v1/reports/sla?groupBy=month');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalidQuery');
  });
});

describe('GET /v1/reports/shadow and the decision log', () => {
  it('reports the shadow version\'s differences per version with examples, as JSON and CSV, and lists them in the decision log by kind', async () => {
    const { waiting } = await traffic();
    const res = await get('/v1/reports/shadow');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.versions).toHaveLength(1);
    const [version] = res.body.versions;
    expect(version.policy).toEqual({ id: 'cpor', version: '2026.2-candidate' });
    // Every submit: the candidate's reviewStart would fall due two business days earlier.
    expect(version.differences).toEqual({ state: 0, refusal: 0, deficiencies: 0, deadlines: 3, eligibility: 0 });
    expect(version.transitions).toBe(3);
    expect(version.claims).toBe(3);
    expect(version.examples[0]).toMatchObject({ event: 'submit', kind: 'deadlines', livePolicy: { id: 'cpor', version: '2026.1' } });
    expect(version.examples[0].live).toContain('reviewStart 2026-03-09');
    expect(version.examples[0].shadow).toContain('reviewStart 2026-03-05');

    const csv = await get('/v1/reports/shadow?format=csv');
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('policyId,policyVersion,livePolicyVersion,claimId,at,event,kind,live,shadow');
    expect(lines.filter((l) => l.includes(',deadlines,'))).toHaveLength(3);
    expect((await get('/v1/reports/shadow?version=other')).body.versions).toEqual([]);

    const log = await get('/v1/decisions?kind=shadow');
    expect(log.status).toBe(200);
    expect(log.body.items).toHaveLength(3);
    expect(log.body.items.every((d: { kind: string }) => d.kind === 'shadow')).toBe(true);
    const mine = await get(`/v1/claims/${waiting}/decisions?kind=shadow`, 'partner');
    expect(mine.status).toBe(200);
    expect(mine.body.items).toHaveLength(1);
  });

  it('pages the whole decision log across claims oldest first, one claim\'s with claimId, and exports a page as CSV', async () => {
    const { approved } = await traffic();
    const seen: Array<{ claimId: string | null; kind: string }> = [];
    let path: string | null = '/v1/decisions?limit=7';
    while (path !== null) {
      const page = await get(path, 'reviewer');
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      path = page.body.next;
    }
    const all = await get('/v1/decisions?limit=1000');
    expect(seen).toEqual(all.body.items);
    expect(new Set(seen.map((d) => d.kind))).toEqual(new Set(['transition', 'shadow']));
    const one = await get(`/v1/decisions?claimId=${approved}&kind=transition`);
    expect(one.body.items.map((d: { result: { event: string } }) => d.result.event)).toEqual([
      'create',
      'uploadPoe',
      'submit',
      'startReview',
      'approve',
      'consentWindowDue',
    ]);
    const csv = await get(`/v1/decisions?claimId=${approved}&kind=transition&format=csv`);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('seq,at,claimId,kind,authorRole,authorId,policyId,policyVersion,event,outcome,rulesFired,inputDigest');
    expect(lines[1]).toContain(`,${approved},transition,incentivesAdmin,`);
    expect(lines[6]).toContain(',consentWindowDue,approved.sentForAssessment,');
    expect((await get('/v1/decisions', 'partner')).status).toBe(403);
  });
});
