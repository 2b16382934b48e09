/** The console's scenario routes: bundled scenarios listed, a run drawn as SVG (strings escaped), coverage under a version or a draft. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Test } from 'supertest';
import { parse } from 'yaml';
import { httpHelpers } from '../support/http-requests';
import { bundledPolicyData, policyYaml } from '../support/policy-factory';
import { createTestApp, type TestApp } from '../support/test-app';

/** The request with its body read as bytes (supertest does not parse image/svg+xml). */
const asBytes = (req: Test) =>
  req.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');
const PAUSED = readFileSync(join(SCENARIOS, 'timeline-decision-target-paused.yaml'), 'utf8');

/** A scenario whose names and texts carry markup. */
const HOSTILE = `name: "<script>alert('name')</script> & co"
claim:
  name: "<img src=x onerror=alert(1)>"
  partnerId: "4623017"
  customer: { tenantId: 41a6a6ce-3bfd-435e-960f-d4e4bcd046dc, domain: fourthcoffee.com, name: "</text><script>alert(2)</script>" }
  activity: deployment
  products:
    - { line: businessApplications, product: dynamics365Finance, subscriptionId: 136c3e01-12d2-4a13-b7db-f2376a182a1e }
steps:
  - { at: 2026-03-16T15:00:00Z, by: globalAdmin, do: create }
  - { at: 2026-03-16T16:00:00Z, by: globalAdmin, do: submit }
  - { at: 2026-03-17T16:00:00Z, by: reviewer, do: reject, with: { reason: "<script>alert(3)</script>" } }
`;

describe('scenario console routes', () => {
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  beforeAll(async () => {
    t = await createTestApp();
    h = httpHelpers(t);
  });
  afterAll(() => t.close());

  it('lists every bundled scenario file with its name and text', async () => {
    const res = await h.api().get('/v1/scenarios').set('Authorization', await h.auth('programManager'));
    expect(res.status).toBe(200);
    const files = res.body.scenarios.map((s: { file: string }) => s.file);
    expect(files.length).toBeGreaterThanOrEqual(50);
    expect(files).toEqual([...files].sort());
    const paused = res.body.scenarios.find((s: { file: string }) => s.file === 'timeline-decision-target-paused.yaml');
    expect(paused).toMatchObject({ name: 'Decision target pauses while the partner is asked for information', yaml: PAUSED });
  });

  it('answers the run as an SVG timeline with format=svg and with Accept: image/svg+xml', async () => {
    const auth = await h.auth('programManager');
    const byQuery = await asBytes(h.api().post('/v1/simulate?format=svg').set('Authorization', auth).send(parse(PAUSED)));
    expect(byQuery.status, byQuery.text).toBe(200);
    expect(byQuery.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const svg = (byQuery.body as Buffer).toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<title id="cpor-timeline-title">Scenario timeline: Decision target pauses while the partner is asked for information</title>');
    expect(svg).toContain('>paused</text>');

    const byAccept = await asBytes(h.api().post('/v1/simulate').set('Authorization', auth).set('Accept', 'image/svg+xml').send(parse(PAUSED)));
    expect(byAccept.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect((byAccept.body as Buffer).toString('utf8')).toBe(svg);

    const json = await h.api().post('/v1/simulate').set('Authorization', auth).send(parse(PAUSED));
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.body.passed).toBe(true);
  });

  it('runs a scenario given as YAML and answers its result with the picture', async () => {
    const res = await h.api().post('/v1/simulate/timeline').set('Authorization', await h.auth('programManager')).send({ yaml: PAUSED, file: 'paused.yaml' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.result.file).toBe('paused.yaml');
    expect(res.body.svg).toContain('paused.yaml · policy cpor 2026.1');
    expect(res.body.result).toMatchObject({ name: 'Decision target pauses while the partner is asked for information', passed: true });
    expect(res.body.result.timeline.length).toBeGreaterThan(5);
    expect(res.body.svg).toContain('Deadline decisionTarget started Mon Mar 16 10:00');
  });

  it('escapes the markup a scenario carries: no element of it reaches the picture', async () => {
    const res = await h.api().post('/v1/simulate/timeline').set('Authorization', await h.auth('programManager')).send({ yaml: HOSTILE });
    expect(res.status, res.text).toBe(200);
    const svg: string = res.body.svg;
    expect(svg).toContain('&lt;script&gt;alert(&apos;name&apos;)&lt;/script&gt; &amp; co');
    expect(svg).not.toMatch(/<script|<img|onerror=/i);
    // Every element is one the renderer writes.
    const tags = new Set([...svg.matchAll(/<([a-zA-Z]+)/g)].map((m) => m[1]));
    expect([...tags].every((tag) => ['svg', 'title', 'desc', 'defs', 'pattern', 'rect', 'line', 'text', 'g', 'path', 'tspan'].includes(tag!))).toBe(true);
  });

  it('refuses YAML that does not load with 400 naming its line', async () => {
    const broken = PAUSED.replace('steps:\n', 'steps:\n  - { at: 2026-03-16T15:00:00Z, by: globalAdmin, do: fly }\n');
    const res = await h.api().post('/v1/simulate/timeline').set('Authorization', await h.auth('programManager')).send({ yaml: broken });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalidPayload', errors: [{ path: '$.yaml' }] });
    const line = broken.split('\n').findIndex((l) => l.includes('do: fly')) + 1;
    expect(res.body.detail).toContain(`scenario.yaml:${line}:`);
  });

  it('refuses a YAML scenario that names a policy file (policyNotSelectable)', async () => {
    const res = await h.api().post('/v1/simulate/timeline').set('Authorization', await h.auth('programManager')).send({ yaml: `policy: other.yaml\n${PAUSED}` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'policyNotSelectable', errors: [{ path: '$.yaml' }] });
  });

  it('reports 100% coverage of the bundled policy by the bundled scenarios, with each rule and its conditions', async () => {
    const res = await h.api().post('/v1/simulate/coverage').set('Authorization', await h.auth('programManager')).send({ threshold: 100 });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ failed: 0, coverage: { threshold: 100, under: [] } });
    expect(res.body.passed).toBeGreaterThanOrEqual(50);
    const [policy] = res.body.coverage.policies;
    expect(policy.policy).toEqual({ id: 'cpor', version: '2026.1' });
    expect(policy.summary.percent).toBe(100);
    const rule = policy.rules.find((r: { code: string }) => r.code === 'poeRequired');
    expect(rule).toMatchObject({ section: 'submissionRequirements', path: '$.submissionRequirements[0].when' });
    expect(rule.true).toBeGreaterThan(0);
    expect(rule.false).toBeGreaterThan(0);
    expect(rule.conditions[0]).toMatchObject({ path: '$.submissionRequirements[0].when.all[0]', text: 'poeCount greaterThanInclusive 1' });
    expect(policy.deadlines.find((d: { name: string }) => d.name === 'decisionTarget')).toMatchObject({ paused: expect.any(Number) });
  });

  it('reports a draft that adds a rule no scenario reaches as under the threshold', async () => {
    const requirements = bundledPolicyData().submissionRequirements as unknown[];
    const draft = policyYaml({
      version: '2026.9',
      submissionRequirements: [
        ...requirements,
        { code: 'tenSubscriptions', message: 'Ten subscriptions.', when: { all: [{ fact: 'subscriptionCount', operator: 'greaterThan', value: 9 }] } },
      ],
    });
    const res = await h.api().post('/v1/simulate/coverage').set('Authorization', await h.auth('programManager')).send({ policy: draft, threshold: 100 });
    expect(res.status, res.text).toBe(200);
    const [policy] = res.body.coverage.policies;
    expect(policy.policy).toEqual({ id: 'cpor', version: '2026.9' });
    expect(policy.summary.percent).toBeLessThan(100);
    expect(policy.rules.find((r: { code: string }) => r.code === 'tenSubscriptions')).toMatchObject({ true: 0 });
    expect(res.body.coverage.under).toEqual([{ id: 'cpor', version: '2026.9', percent: policy.summary.percent }]);
  });

  it('runs only pasted scenarios when asked, under a loaded version', async () => {
    const res = await h.api()
      .post('/v1/simulate/coverage')
      .set('Authorization', await h.auth('programManager'))
      .send({ bundled: false, version: '2026.1', scenarios: [PAUSED] });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ passed: 1, failed: 0, skipped: 0 });
    expect(res.body.coverage.policies[0].scenarios).toBe(1);
    expect(res.body.coverage.policies[0].summary.percent).toBeLessThan(100);
  });

  it('refuses a draft that does not load (422 with located errors), an unknown version (404), both at once (400), and a pasted scenario that does not load (400 at its index)', async () => {
    const auth = await h.auth('programManager');
    const draft = await h.api().post('/v1/simulate/coverage').set('Authorization', auth).send({ policy: 'id: cpor\nversion: [' });
    expect(draft.status).toBe(422);
    expect(draft.body.code).toBe('invalidPolicy');
    expect(draft.body.errors[0]).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });

    const version = await h.api().post('/v1/simulate/coverage').set('Authorization', auth).send({ version: '1999.1' });
    expect(version.status).toBe(404);
    expect(version.body.code).toBe('unknownPolicyVersion');

    const both = await h.api().post('/v1/simulate/coverage').set('Authorization', auth).send({ version: '2026.1', policy: policyYaml() });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ code: 'ambiguousParameter', errors: [{ path: '$.version' }] });

    const pasted = await h.api().post('/v1/simulate/coverage').set('Authorization', auth).send({ scenarios: [PAUSED, 'name: x\nsteps: []\n'] });
    expect(pasted.status).toBe(400);
    expect(pasted.body).toMatchObject({ code: 'invalidPayload', errors: [{ path: '$.scenarios[1]' }] });
  });

  it('lets reviewers and program managers run coverage, not partners', async () => {
    const res = await h.api().post('/v1/simulate/coverage').set('Authorization', await h.auth('partner')).send({ bundled: false, scenarios: [PAUSED] });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbiddenRole');
  });
});
