/** What /v1/simulate (and scenario files) accept: one claim, no step as system, the service's policy versions. */
// On SQLite only: a simulation runs in memory and never reads or writes the service's store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { parseScenario } from '../../src/simulate/scenario';
import { sqliteDatabase } from '../support/databases';
import { httpHelpers } from '../support/http-requests';
import { policyYaml } from '../support/policy-factory';
import { createTestApp, type TestApp } from '../support/test-app';
import { claimFields, poePayload } from '../support/factories';

const POE = poePayload();

const base = (steps: Array<Record<string, unknown>>) => ({ name: 'A scenario', claim: claimFields(), steps });

describe('/v1/simulate scenario rules', () => {
  let t: TestApp;
  let registry: PolicyRegistry | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    registry?.stop();
    registry = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    await t.close();
  });

  it('refuses a second create step (invalidState): a scenario follows one claim', async () => {
    t = await createTestApp({ database: sqliteDatabase });
    const h = httpHelpers(t);
    const steps = [
      { at: '2026-03-02T17:00:00Z', by: 'incentivesAdmin', do: 'create' },
      { at: '2026-03-02T17:05:00Z', by: 'incentivesAdmin', do: 'uploadPoe', with: POE },
      { at: '2026-03-02T17:10:00Z', by: 'incentivesAdmin', do: 'submit' },
      { at: '2026-03-02T17:20:00Z', by: 'incentivesAdmin', do: 'create' },
    ];
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('programManager')).send(base(steps));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.passed).toBe(false);
    expect(res.body.failures[0]).toMatch(/step 4 .*create by incentivesAdmin was refused: invalidState: .*creates its claim once/);
    expect(res.body.timeline.at(-1)).toMatchObject({ event: 'create', from: 'submitted', to: 'submitted', refused: { code: 'invalidState' } });
    expect(res.body.final.status).toBe('submitted');

    const expected = await h.api()
      .post('/v1/simulate')
      .set('Authorization', await h.auth('programManager'))
      .send(base([...steps.slice(0, 3), { ...steps[3], expect: { refused: 'invalidState', status: 'submitted' } }]));
    expect(expected.body).toMatchObject({ passed: true, failures: [] });
  });

  it.each([
    ['a role name', 'system', '$.steps[1].by'],
    ['an actor', { role: 'system' }, '$.steps[1].by.role'],
  ])('refuses a step acting as system (%s) with 400 at its path', async (_what, by, path) => {
    t = await createTestApp({ database: sqliteDatabase });
    const h = httpHelpers(t);
    const steps = [
      { at: '2026-03-02T17:00:00Z', by: 'incentivesAdmin', do: 'create' },
      { at: '2026-03-02T18:00:00Z', by, do: 'sendForAssessment' },
    ];
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('programManager')).send(base(steps));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalidPayload', errors: [{ path }] });
    expect(res.body.detail).toMatch(/system acts only through deadlines/);
  });

  it('follows the policy version in effect as the scenario clock moves, as cpor simulate does', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpor-policies-'));
    writeFileSync(join(dir, 'cpor-2026.1.yaml'), policyYaml());
    writeFileSync(join(dir, 'cpor-2026.2.yaml'), policyYaml({ version: '2026.2', effective: '2026-04-01T00:00:00Z' }));
    // The service's clock is in March (2026.1 in effect); the scenario's claim starts in April.
    registry = await createPolicyRegistry({ path: dir, clock: { now: () => new Date('2026-03-02T17:00:00Z') } });
    t = await createTestApp({ database: sqliteDatabase, policies: registry });
    const h = httpHelpers(t);
    const auth = await h.auth('programManager');
    const steps = (day: string) => [
      { at: `${day}T17:00:00Z`, by: 'incentivesAdmin', do: 'create' },
      { at: `${day}T17:05:00Z`, by: 'incentivesAdmin', do: 'uploadPoe', with: POE },
      { at: `${day}T17:10:00Z`, by: 'incentivesAdmin', do: 'submit' },
    ];
    const april = await h.api().post('/v1/simulate').set('Authorization', auth).send(base(steps('2026-04-06')));
    expect(april.status, JSON.stringify(april.body)).toBe(200);
    expect(april.body.policy).toEqual({ id: 'cpor', version: '2026.2' });
    const march = await h.api().post('/v1/simulate').set('Authorization', auth).send(base(steps('2026-03-09')));
    expect(march.body.policy).toEqual({ id: 'cpor', version: '2026.1' });
  });
});

describe('scenario files', () => {
  it('refuse a step acting as system, naming the file and line', () => {
    const text = [
      'name: System skips the window',
      'steps:',
      '  - { at: 2026-03-02T17:00:00Z, by: incentivesAdmin, do: create }',
      '  - { at: 2026-03-02T18:00:00Z, by: system, do: sendForAssessment }',
      '',
    ].join('\n');
    const result = parseScenario(text, 'skip.yaml');
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^skip\.yaml:4:\d+: \$\.steps\[1\]\.by: a step cannot act as system/) });
  });
});
