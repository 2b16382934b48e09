/**
 * The service's background loop: fires due deadlines (also those that fell due
 * while the service was down) and delivers the outbox. Each deadline is applied
 * in the transaction that claims it, so two instances never fire one twice.
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
  /** Runs every task once now (tests, start-up catch-up). */
  tick(): Promise<void>;
  start(): void;
  /** Stops the loop and waits for a tick in progress. */
  stop(): Promise<void>;
}

export function createScheduler(tasks: SchedulerTask[], options: { intervalMs: number; logger: SchedulerLogger }): Scheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const tick = async () => {
    for (const task of tasks) {
      try {
        await task.run();
      } catch (error) {
        // A claim another instance changed meanwhile never gets here: fireDue skips it (that instance fired it).
        options.logger.error({ err: error, task: task.name }, 'scheduler task failed');
      }
    }
  };
  const loop = () => {
    if (stopped) return;
    running = tick().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, options.intervalMs);
    });
  };
  return {
    tick: () => (running ??= tick().finally(() => (running = undefined))),
    start() {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
