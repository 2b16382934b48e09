/** Impossible instants and dates, and deeply nested input, are 400/422 problems with a location: never a 500. */
// On SQLite only: simulation and validation refuse these before any store is read or written.
import { describe, expect, it } from 'vitest';
import { sqliteDatabase } from '../support/databases';
import { type HttpHelpers, useHttpApp } from '../support/http-requests';
import { bundledPolicyText } from '../support/policy-factory';
import { claimFields, poePayload } from '../support/factories';

const POE = poePayload();

const scenario = (day: string, extra: Array<Record<string, unknown>> = []) => ({
  name: 'Dates',
  claim: claimFields(),
  steps: [
    { at: `${day}T17:00:00Z`, by: 'incentivesAdmin', do: 'create' },
    { at: `${day}T17:05:00Z`, by: 'incentivesAdmin', do: 'uploadPoe', with: POE },
    { at: `${day}T17:10:00Z`, by: 'incentivesAdmin', do: 'submit' },
    ...extra,
  ],
});

/** `{"a":{"a":…}}` nested `depth` deep, as text. */
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('impossible instants and deep nesting', () => {
  let h: HttpHelpers;
  useHttpApp({ database: sqliteDatabase }, (app) => ({ h } = app));

  const simulate = async (body: unknown) =>
    h.api().post('/v1/simulate').set('Authorization', await h.auth('programManager')).send(body as object);

  it.each([
    ['a month 13', '2026-13-01T00:00Z', /month/],
    ['an offset of +99:59', '2026-03-02T00:00+99:59', /offset/],
    ['the year 0001', '0001-03-02T17:00:00Z', /year/],
    ['30 February (not 2 March)', '2026-02-30T17:00:00Z', /28 days/],
  ])('refuses a scenario step at %s with 400 and its JSONPath', async (_what, at, why) => {
    const body = scenario('2026-03-02');
    body.steps[0] = { ...body.steps[0]!, at };
    const res = await simulate(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors[0]).toMatchObject({ path: '$.steps[0].at', message: expect.stringMatching(why) });
  });

  it('refuses an until step at an impossible instant with its JSONPath', async () => {
    const res = await simulate(scenario('2026-03-02', [{ until: '2026-04-31T00:00:00Z' }]));
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ path: '$.steps[3].until', message: expect.stringMatching(/30 days/) });
  });

  it('a scenario whose deadline would fall after the year 9999 fails with a reason instead of a 500', async () => {
    const res = await simulate(scenario('9999-12-20'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.passed).toBe(false);
    expect(res.body.failures[0]).toMatch(/outside the years deadlines can be computed in/);
  });

  it('refuses a PoE signedOn of 30 February in a scenario step (invalidPayload), not 2 March', async () => {
    const body = scenario('2026-03-02');
    body.steps[1] = { ...body.steps[1]!, with: { ...POE, signedOn: '2026-02-30' }, expect: { refused: 'invalidPayload' } } as never;
    body.steps.pop();
    const res = await simulate(body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ passed: true });
    expect(res.body.timeline[1].refused.message).toMatch(/signedOn/);
  });

  it.each(['/v1/simulate', '/v1/claims'])('refuses a JSON body nested 10,000 deep on %s with 400 jsonTooDeep', async (path) => {
    const res = await h.api().post(path).set('Authorization', await h.auth('partner')).set('content-type', 'application/json').send(nested(10_000));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'jsonTooDeep', errors: [{ path: '$' }] });
  });

  it('takes a JSON body nested 64 deep to validation (400 invalidPayload, not jsonTooDeep)', async () => {
    const res = await simulate(JSON.parse(nested(64)));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalidPayload');
  });

  it.each([
    ['since', '2026-02-30'],
    ['since', '2026-03-02T00:00+99:59'],
    ['until', '2026-13-01T00:00:00Z'],
  ])('refuses a backtest %s of %s with 400 at its path', async (name, value) => {
    const res = await h.api()
      .post(`/v1/backtest?${name}=${encodeURIComponent(value)}`)
      .set('Authorization', await h.auth('reviewer'))
      .set('content-type', 'application/yaml')
      .send(bundledPolicyText());
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(`$.${name}`);
  });

  it('answers a candidate policy whose condition nests 5,000 deep with 422 and a located nestingTooDeep error', async () => {
    const deep = '{ not: '.repeat(5000) + '{ fact: poeCount, operator: equal, value: 0 }' + ' }'.repeat(5000);
    const text = bundledPolicyText().replace(/^deficiencies:\n/m, `deficiencies:\n  - code: deep\n    description: Deep\n    when: ${deep}\n`);
    const res = await h.api().post('/v1/backtest').set('Authorization', await h.auth('reviewer')).set('content-type', 'application/yaml').send(text);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalidPolicy');
    expect(res.body.errors[0]).toMatchObject({ code: 'nestingTooDeep', line: expect.any(Number) });
    expect(res.body.detail).not.toMatch(/call stack/);
  });

  it.each([
    ['from', '2026-02-30T00:00:00Z'],
    ['from', '0001-01-01T00:00Z'],
    ['to', '2026-02-30'],
  ])('refuses an assessment report %s of %s with 400 at its path (not 2 March)', async (name, value) => {
    const res = await h.api().get(`/v1/reports/assessment?${name}=${encodeURIComponent(value)}`).set('Authorization', await h.auth('reviewer'));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(`$.${name}`);
  });
});
