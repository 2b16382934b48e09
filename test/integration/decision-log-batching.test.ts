/**
 * The decision log's evaluation records, written in batches in the background by a running
 * service (SQLite): every answered evaluation is recorded, none lost when the service shuts
 * down gracefully with records still queued; EVALUATION_LOG_SAMPLE records a share of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { digestInput } from '../../src/claims/decision-digest';
import { loadConfig } from '../../src/config';
import { createDatabase } from '../../src/db/database';
import { startService } from '../../src/server';
import { BUNDLED_POLICY_DIR } from '../../src/simulate/policy-files';
import { documentedRequest } from '../support/documented-requests';
import { claimFields, poePayload } from '../support/factories';

let dataDir: string | undefined;
afterEach(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** Starts a service on a fresh SQLite folder, sends `count` evaluations at once, shuts it down, and counts the evaluation records. */
async function evaluateThenShutDown(count: number, env: Record<string, string> = {}) {
  dataDir = mkdtempSync(join(tmpdir(), 'cpor-decision-batch-'));
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, ...env }, { policyPath: BUNDLED_POLICY_DIR });
  const running = await startService(config, { startScheduler: false, logger: pino({ level: 'silent' }) });
  const api = () => documentedRequest(running.url);
  const { token } = (await api().post('/v1/auth/dev-token').send({ role: 'reviewer' }).expect(201)).body as { token: string };
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      api()
        .post('/v1/evaluate')
        .set('Authorization', `Bearer ${token}`)
        .send({
          claim: { id: `claim-${i}`, fields: claimFields(), status: 'editing', poe: Array.from({ length: i % 3 }, () => poePayload()) },
          asOf: new Date(Date.parse('2026-03-02T18:00:00Z') + i * 60_000).toISOString(),
        }),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
  // Shut down at once: the last records are still waiting for their batch.
  await running.close();
  const knex = createDatabase({ dataDir });
  try {
    const rows: Array<{ claim_id: string | null }> = await knex('decisions').where('kind', 'evaluation').select('claim_id');
    return rows;
  } finally {
    await knex.destroy();
  }
}

describe('the decision log of evaluations, batched', () => {
  it('records every answered evaluation, none lost when the service shuts down gracefully with records queued', async () => {
    const rows = await evaluateThenShutDown(150);
    expect(rows).toHaveLength(150);
    // Each evaluation once.
    expect(new Set(rows.map((r) => r.claim_id)).size).toBe(150);
  }, 60_000);

  it('records none with EVALUATION_LOG_SAMPLE=0, and still answers every evaluation', async () => {
    expect(await evaluateThenShutDown(20, { EVALUATION_LOG_SAMPLE: '0' })).toHaveLength(0);
  }, 60_000);

  it('checks and digests a body sent again as the first time: the same answer, the digest of its input; a refused body is refused again', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cpor-decision-batch-'));
    const config = loadConfig({ PORT: '0', DATA_DIR: dataDir }, { policyPath: BUNDLED_POLICY_DIR });
    const running = await startService(config, { startScheduler: false, logger: pino({ level: 'silent' }) });
    const api = () => documentedRequest(running.url);
    const { token } = (await api().post('/v1/auth/dev-token').send({ role: 'reviewer' }).expect(201)).body as { token: string };
    const input = { claim: { id: 'claim-same', fields: claimFields(), status: 'editing', poe: [poePayload()] }, asOf: '2026-03-02T18:00:00Z' };
    // The same content in another key order: other bytes, the same input.
    const reordered = { asOf: input.asOf, claim: { poe: input.claim.poe, status: 'editing', fields: input.claim.fields, id: 'claim-same' } };
    const send = (body: string) =>
      api().post('/v1/evaluate').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(body);
    const answers = [];
    for (const body of [input, input, reordered, input]) answers.push((await send(JSON.stringify(body)).expect(200)).body);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    const invalid = JSON.stringify({ ...input, asOf: 'tomorrow' });
    for (let i = 0; i < 2; i++) expect((await send(invalid).expect(400)).body.code).toBe('invalidPayload');
    await running.close();
    const knex = createDatabase({ dataDir });
    try {
      const rows: Array<{ input_digest: string }> = await knex('decisions').where('kind', 'evaluation').select('input_digest');
      expect(rows.map((r) => r.input_digest)).toEqual(Array.from({ length: 4 }, () => digestInput(input)));
    } finally {
      await knex.destroy();
    }
  }, 60_000);

  it('refuses an EVALUATION_LOG_SAMPLE outside 0–1', () => {
    expect(() => loadConfig({ EVALUATION_LOG_SAMPLE: '1.5' }, { policyPath: BUNDLED_POLICY_DIR })).toThrow(/EVALUATION_LOG_SAMPLE="1.5": expected a number from 0 to 1/);
    expect(loadConfig({ EVALUATION_LOG_SAMPLE: '0.1' }, { policyPath: BUNDLED_POLICY_DIR }).evaluationLogSample).toBe(0.1);
  });
});
