import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/claims/decision-digest';
import { createDecisionRetentionTask } from '../../src/evaluation/decision-retention';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { DATABASES, useDatabase, type StoreSetup } from '../support/databases';

const record = (kind: DecisionRecord['kind'], at: string): DecisionRecord => ({
  claimId: null,
  at,
  kind,
  author: { role: 'reviewer', id: 'r@contoso.com' },
  policy: { id: 'cpor', version: '2026.1' },
  inputDigest: `sha256:${at}`,
  result: {},
  rulesFired: [],
});

describe.each(DATABASES)('evaluation records past retention ($name)', (db) => {
  useDatabase(db);
  let setup: StoreSetup;
  beforeEach(async () => {
    setup = await db.setup();
  });
  afterEach(() => setup.teardown());

  const remaining = async () => {
    // Records without a claim are not listed per claim: read the table.
    if (setup.knex) return (await setup.knex('decisions').select('kind', 'at').orderBy('at')).map((r) => `${r.kind}@${new Date(r.at).toISOString()}`);
    return null;
  };

  it('the scheduler task deletes evaluation records older than the retention days, keeps newer ones and every transition, at most hourly', async () => {
    const { store } = setup;
    for (const [kind, at] of [
      ['evaluation', '2026-01-01T00:00:00.000Z'],
      ['transition', '2026-01-01T00:00:00.000Z'],
      ['evaluation', '2026-02-20T00:00:00.000Z'],
      ['evaluation', '2026-03-01T11:59:59.999Z'],
      ['evaluation', '2026-03-01T12:00:00.000Z'],
      ['evaluation', '2026-03-05T00:00:00.000Z'],
    ] as const) {
      await store.recordDecision(record(kind, at));
    }
    const clock = createVirtualClock(new Date('2026-03-31T12:00:00.000Z'));
    const logged: object[] = [];
    const task = createDecisionRetentionTask({ store, clock, retentionDays: 30, logger: { info: (obj) => logged.push(obj) } });

    expect(await task.run()).toBe(3);
    expect(logged).toEqual([{ pruned: 3, retentionDays: 30 }]);
    if (db.sql) {
      expect(await remaining()).toEqual([
        'transition@2026-01-01T00:00:00.000Z',
        'evaluation@2026-03-01T12:00:00.000Z',
        'evaluation@2026-03-05T00:00:00.000Z',
      ]);
    }
    // Within the hour: nothing is asked of the store; an hour later the next cut-off applies.
    clock.set(new Date('2026-03-31T12:59:59.999Z'));
    expect(await task.run()).toBe(0);
    clock.set(new Date('2026-04-04T12:00:00.000Z'));
    expect(await task.run()).toBe(2);
    expect(await store.pruneEvaluationDecisions('2030-01-01T00:00:00.000Z')).toBe(0);
    if (db.sql) expect(await remaining()).toEqual(['transition@2026-01-01T00:00:00.000Z']);
  });

  it('keeps every record when the retention is 0 (the default)', async () => {
    await setup.store.recordDecision(record('evaluation', '2000-01-01T00:00:00.000Z'));
    const task = createDecisionRetentionTask({ store: setup.store, clock: createVirtualClock(new Date('2026-03-31T12:00:00.000Z')), retentionDays: 0, logger: { info: () => {} } });
    expect(await task.run()).toBe(0);
    expect(await setup.store.pruneEvaluationDecisions('2000-01-01T00:00:00.000Z')).toBe(0);
    expect(await setup.store.pruneEvaluationDecisions('2000-01-01T00:00:00.001Z')).toBe(1);
  });
});
