import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '../../src/outbox/scheduler';

const silent = { error: () => undefined };
const schedulers: Scheduler[] = [];
let release: () => void = () => undefined;
afterEach(async () => {
  release();
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
});

describe('createScheduler', () => {
  it('a task that never finishes does not delay the other tasks: each runs in its own loop', async () => {
    let deadlineRuns = 0;
    const stuck = new Promise<void>((r) => (release = r));
    const scheduler = createScheduler(
      [
        { name: 'deadlines', run: async () => void (deadlineRuns += 1) },
        { name: 'webhooks', run: () => stuck },
      ],
      { intervalMs: 20, logger: silent },
    );
    schedulers.push(scheduler);
    scheduler.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(deadlineRuns).toBeGreaterThanOrEqual(5);
  });

  it('a failing task is logged and runs again at the next interval; the others go on', async () => {
    const errors: string[] = [];
    let failing = 0;
    let other = 0;
    const scheduler = createScheduler(
      [
        { name: 'broken', run: async () => { failing += 1; throw new Error('boom'); } },
        { name: 'other', run: async () => void (other += 1) },
      ],
      { intervalMs: 20, logger: { error: (obj) => errors.push((obj as { task: string }).task) } },
    );
    schedulers.push(scheduler);
    scheduler.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(failing).toBeGreaterThanOrEqual(3);
    expect(other).toBeGreaterThanOrEqual(3);
    expect(new Set(errors)).toEqual(new Set(['broken']));
  });

  it('tick runs every task once, and a tick during a run shares it (a task never runs twice at once)', async () => {
    let concurrent = 0;
    let most = 0;
    let runs = 0;
    const scheduler = createScheduler(
      [{ name: 'deadlines', run: async () => { concurrent += 1; most = Math.max(most, concurrent); runs += 1; await new Promise((r) => setTimeout(r, 30)); concurrent -= 1; } }],
      { intervalMs: 1_000, logger: silent },
    );
    await Promise.all([scheduler.tick(), scheduler.tick(), scheduler.tick()]);
    expect(runs).toBe(1);
    expect(most).toBe(1);
  });

  it('stop waits for the run in progress and no task runs after it', async () => {
    let runs = 0;
    let finished = false;
    const scheduler = createScheduler(
      [{ name: 'slow', run: async () => { runs += 1; await new Promise((r) => setTimeout(r, 50)); finished = true; } }],
      { intervalMs: 10, logger: silent },
    );
    scheduler.start();
    await new Promise((r) => setTimeout(r, 5));
    await scheduler.stop();
    expect(finished).toBe(true);
    const after = runs;
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(after);
  });
});
