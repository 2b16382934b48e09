/**
 * The service's background work: fires due deadlines (also those that fell due
 * while the service was down) and delivers the outbox. Each deadline is applied
 * in the transaction that claims it, so two instances never fire one twice.
 *
 * Every task runs in a loop of its own: a task that is slow (a webhook receiver
 * that never answers) never delays another (deadlines fire on time).
 */
export interface SchedulerTask {
  name: string;
  run(): Promise<unknown>;
}

export interface SchedulerLogger {
  error(obj: object, message: string): void;
  debug?(obj: object, message: string): void;
}

export interface Scheduler {
  /** Runs every task once now, side by side (tests, start-up catch-up); a task already running is awaited instead. */
  tick(): Promise<void>;
  start(): void;
  /** Stops the loops and waits for the runs in progress. */
  stop(): Promise<void>;
}

export function createScheduler(tasks: SchedulerTask[], options: { intervalMs: number; logger: SchedulerLogger }): Scheduler {
  let stopped = true;
  const loops = tasks.map((task) => {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    const runOnce = () =>
      (running ??= (async () => {
        try {
          await task.run();
        } catch (error) {
          // A claim another instance changed meanwhile never gets here: fireDue skips it (that instance fired it).
          options.logger.error({ err: error, task: task.name }, 'scheduler task failed');
        }
      })().finally(() => {
        running = undefined;
      }));
    const loop = () => {
      timer = undefined;
      if (stopped) return;
      void runOnce().then(() => {
        if (!stopped) timer = setTimeout(loop, options.intervalMs);
      });
    };
    return {
      runOnce,
      start: loop,
      async stop() {
        if (timer) clearTimeout(timer);
        timer = undefined;
        await running;
      },
    };
  });
  return {
    async tick() {
      await Promise.all(loops.map((l) => l.runOnce()));
    },
    start() {
      if (!stopped) return;
      stopped = false;
      for (const l of loops) l.start();
    },
    async stop() {
      stopped = true;
      await Promise.all(loops.map((l) => l.stop()));
    },
  };
}
