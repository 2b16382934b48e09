/**
 * Simulations and backtests cannot stall the service: bounded input, the work in a
 * worker thread with a time and memory budget, a bounded number of workers.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { httpHelpers } from '../support/http-requests';
import { bundledPolicyText } from '../support/policy-factory';
import { createTestApp, type TestApp } from '../support/test-app';
import { ACTORS, claimFields, poePayload } from '../support/factories';

const POE = poePayload();

/** A scenario of `cycles` review rounds (request for information, resubmission, review), 3 steps each after the first 4. */
export function reviewCycles(cycles: number, name = 'Many review cycles') {
  const start = Date.parse('2026-03-02T17:00:00Z');
  let minute = 0;
  const at = () => new Date(start + minute++ * 60_000).toISOString();
  const steps: Array<Record<string, unknown>> = [
    { at: at(), by: 'incentivesAdmin', do: 'create' },
    { at: at(), by: 'incentivesAdmin', do: 'uploadPoe', with: POE },
    { at: at(), by: 'incentivesAdmin', do: 'submit' },
    { at: at(), by: 'reviewer', do: 'startReview' },
  ];
  for (let i = 0; i < cycles; i++) {
    steps.push(
      { at: at(), by: 'reviewer', do: 'requestInfo', with: { deficiencies: ['missingCustomerAcknowledgment'], comment: `Round ${i}` } },
      { at: at(), by: 'incentivesAdmin', do: 'resubmit' },
      { at: at(), by: 'reviewer', do: 'startReview' },
    );
  }
  return { name, claim: claimFields(), steps };
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)]!;
const median = (values: number[]) => quantile(values, 0.5);

describe('POST /v1/simulate bounds', () => {
  let t: TestApp;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    await t.close();
  });

  async function listen(app: TestApp['app']): Promise<string> {
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function healthzLatencies(base: string, count: number): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const res = await fetch(`${base}/healthz`);
      await res.text();
      latencies.push(performance.now() - started);
    }
    return latencies;
  }

  it('/healthz stays fast while a heavy simulation runs (measured against an idle baseline in the same run)', async () => {
    t = await createTestApp({ limits: { workers: { size: 1, timeoutMs: 120_000 } } });
    const base = await listen(t.app);
    const token = await t.bearer({ role: 'programManager' });
    const heavy = JSON.stringify(reviewCycles(165));
    const simulate = () =>
      fetch(`${base}/v1/simulate`, { method: 'POST', headers: { authorization: token, 'content-type': 'application/json' }, body: heavy });

    const idle = await healthzLatencies(base, 30);
    let answeredAt = Infinity;
    const runs = Promise.all([simulate()]).then(async (responses) => {
      answeredAt = performance.now();
      return Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as { passed: unknown; timeline: unknown[] } })));
    });
    // Sample from the moment the simulation is sent until it is answered.
    const busy: number[] = [];
    while (answeredAt === Infinity) {
      const [latency] = await healthzLatencies(base, 1);
      if (answeredAt === Infinity) busy.push(latency!);
    }
    const results = await runs;

    expect(results.map((r) => r.status)).toEqual([200]);
    expect(results[0]!.body.timeline).toHaveLength(4 + 3 * 165);
    // Enough samples were taken while it ran, and they did not wait for it (loose bounds: the machine is shared).
    expect(busy.length).toBeGreaterThanOrEqual(20);
    expect(median(busy)).toBeLessThan(Math.max(10 * median(idle), 50));
    expect(quantile(busy, 0.9)).toBeLessThan(200);
  });

  it('refuses a scenario of more than 500 steps with 400 at $.steps, before running it', async () => {
    t = await createTestApp();
    const h = httpHelpers(t);
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('customer')).send(reviewCycles(166));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'invalidPayload', errors: [{ path: '$.steps' }] });
    expect(res.body.detail).toMatch(/500/);
  });

  it('refuses a body over the JSON limit with 413', async () => {
    t = await createTestApp();
    const h = httpHelpers(t);
    const big = { ...reviewCycles(10), description: 'x'.repeat(300 * 1024) };
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('customer')).send(big);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('bodyTooLarge');
  });

  it('stops a simulation past its time budget: 422 simulationTooExpensive, and the service goes on', async () => {
    t = await createTestApp({ limits: { workers: { timeoutMs: 300 } } });
    const h = httpHelpers(t);
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('programManager')).send(reviewCycles(165));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'simulationTooExpensive', budget: 'time', limit: 300 });
    expect((await h.api().get('/healthz')).status).toBe(200);
  });

  it('stops a simulation past its memory budget: 422 simulationTooExpensive', async () => {
    t = await createTestApp({ limits: { workers: { memoryMb: 8 } } });
    const h = httpHelpers(t);
    const res = await h.api().post('/v1/simulate').set('Authorization', await h.auth('programManager')).send(reviewCycles(165));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'simulationTooExpensive', budget: 'memory', limit: 8 });
  });

  it('runs at most limits.workers.size simulations at once: past that, 503 workersBusy with Retry-After, not logged as a fault', async () => {
    t = await createTestApp({ limits: { workers: { size: 1, timeoutMs: 120_000 } } });
    const h = httpHelpers(t);
    const auth = await h.auth('programManager');
    const first = h.api().post('/v1/simulate').set('Authorization', auth).send(reviewCycles(165)).then((res) => res);
    // Give the first request time to take the only worker (it is still starting or running for seconds).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await h.api().post('/v1/simulate').set('Authorization', auth).send(reviewCycles(1));
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('2');
    expect(second.body.code).toBe('workersBusy');
    expect(t.logs.filter((line) => line.level === 50)).toEqual([]);
    expect((await first).status).toBe(200);
    const third = await h.api().post('/v1/simulate').set('Authorization', auth).send(reviewCycles(1));
    expect(third.status).toBe(200);
  });

  it('stops a backtest past its time budget: 422 backtestTooExpensive', async () => {
    t = await createTestApp({ limits: { workers: { backtestTimeoutMs: 1 } } });
    const h = httpHelpers(t);
    await h.createClaim();
    const res = await h.api()
      .post('/v1/backtest')
      .set('Authorization', await h.auth('reviewer'))
      .set('content-type', 'application/yaml')
      .send(bundledPolicyText());
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'backtestTooExpensive', budget: 'time', limit: 1 });
  });

  it('/healthz stays fast while a large backtest runs (measured against an idle baseline in the same run)', async () => {
    t = await createTestApp();
    const partner = ACTORS.partner;
    for (let i = 0; i < 3000; i++) await t.service.create(partner, claimFields());
    const base = await listen(t.app);
    const token = await t.bearer({ role: 'reviewer' });
    // The same rules as another version: every claim is still replayed under it and compared.
    const candidate = bundledPolicyText().replace('version: "2026.1"', 'version: "2026.9"');

    const idle = await healthzLatencies(base, 30);
    let answeredAt = Infinity;
    const run = fetch(`${base}/v1/backtest`, { method: 'POST', headers: { authorization: token, 'content-type': 'application/yaml' }, body: candidate }).then(
      async (res) => {
        answeredAt = performance.now();
        return { status: res.status, body: (await res.json()) as { totals: { claims: number } } };
      },
    );
    const busy: number[] = [];
    while (answeredAt === Infinity) {
      const [latency] = await healthzLatencies(base, 1);
      if (answeredAt === Infinity) busy.push(latency!);
    }
    const result = await run;

    expect(result.status).toBe(200);
    expect(result.body.totals.claims).toBe(3000);
    expect(busy.length).toBeGreaterThanOrEqual(20);
    expect(median(busy)).toBeLessThan(Math.max(10 * median(idle), 50));
    expect(quantile(busy, 0.9)).toBeLessThan(200);
  });
});
