import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimStore } from '../../src/claims/claim-store';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { createWorkMetrics } from '../../src/http/metrics';
import { createDeadlineTask } from '../../src/outbox/deadline-task';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { claimIn } from '../support/factories';
import { capturingLogger } from '../support/test-app';

const until = (condition: () => boolean) =>
  new Promise<void>((resolve) => {
    const poll = () => (condition() ? resolve() : setTimeout(poll, 5));
    poll();
  });

describe('createDeadlineTask', () => {
  it('logs and counts each claim’s firings when its transaction commits, before the rest of the due list is drained', async () => {
    const inner = createMemoryClaimStore();
    let transactions = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let firing = false;
    // The second claim's transaction hangs until released (a slow claim, or an instance about to be killed).
    const store: ClaimStore = {
      ...inner,
      async transaction(fn) {
        if (firing && ++transactions === 2) await gate;
        return inner.transaction(fn);
      },
    };
    const clock = createVirtualClock(new Date('2026-03-02T17:00:00.000Z'));
    const service = createClaimService({ store, policy: await compiledBundledPolicy(), clock, ids: createSequentialIds() });
    const first = await claimIn(service, 'submitted');
    const second = await claimIn(service, 'submitted');
    clock.set(new Date('2026-03-20T00:00:00.000Z'));

    const registry = new Registry();
    const metrics = createWorkMetrics(registry);
    const { logger, logs } = capturingLogger();
    const task = createDeadlineTask({ service, logger, fired: metrics.deadlinesFired });
    firing = true;
    const run = task.run();
    await until(() => logs.length > 0);
    const fired = async () => (await metrics.deadlinesFired.get()).values.reduce((sum, v) => sum + v.value, 0);

    expect(logs).toEqual([expect.objectContaining({ msg: 'deadlines fired', claimId: first.id, events: ['reviewStartDue', 'decisionTargetDue'] })]);
    expect(await fired()).toBe(2);
    expect(await registry.metrics()).toContain('cpor_deadlines_fired_total{event="reviewStartDue"} 1');

    release();
    await run;
    expect(logs.map((line) => line.claimId)).toEqual([first.id, second.id]);
    expect(await fired()).toBe(4);
  });
});
