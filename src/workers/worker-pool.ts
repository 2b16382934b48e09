/**
 * A small pool of worker threads for work a request may ask for but must not run on
 * the thread that serves requests (simulations, backtests). Each job has a time budget
 * (past it the worker is terminated), each worker a heap budget (V8 resource limits);
 * at most `size` jobs run at once and a job past that is refused, not queued.
 */
import { Worker } from 'node:worker_threads';
import { DomainError, type ErrorKind } from '../domain/errors';
import { isErrorCode } from '../domain/error-codes';
import type { SerializedError, ToMain, ToWorker } from './protocol';

export interface WorkerPoolOptions {
  /** Jobs (and workers) at once; default 2. */
  size?: number;
  /** Heap budget of each worker (old generation), MiB; default 512. */
  memoryMb?: number;
  /** Time budget of a job (unless the job says otherwise), ms, from the moment its worker is ready; default 30 s. */
  timeoutMs?: number;
  /** An idle worker ends after this long; default 60 s. */
  idleMs?: number;
}

/** Every worker is busy: try again shortly. */
export class WorkersBusyError extends Error {
  override readonly name = 'WorkersBusyError';
}

/** A job went over its time or memory budget and was stopped. */
export class WorkBudgetError extends Error {
  override readonly name = 'WorkBudgetError';
  constructor(
    readonly budget: 'time' | 'memory',
    readonly limit: number,
  ) {
    super(budget === 'time' ? `the job ran longer than ${limit} ms` : `the job needed more than ${limit} MiB`);
  }
}

export interface WorkerPool {
  /** Runs a job of `kind` in a worker; `calls` are the functions the job may ask the main thread to run. */
  run<T>(
    kind: string,
    input: unknown,
    calls?: Record<string, (...args: never[]) => Promise<unknown>>,
    options?: { timeoutMs?: number },
  ): Promise<T>;
  /** Jobs running now. */
  running(): number;
  /** Ends every worker. */
  close(): Promise<void>;
}

/**
 * A worker's entry. From the sources (vitest, tsx) a worker thread has its own module loader,
 * so bootstrap.mjs registers tsx there before loading job-worker.ts; from the compiled build
 * (dist/, flat) it is the compiled job-worker.js beside this module, run by plain node.
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./bootstrap.mjs', import.meta.url)
  : new URL('./job-worker.js', import.meta.url);

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  idleTimer: NodeJS.Timeout | null;
  /** What the current job does with the worker's messages and end. */
  onMessage: ((message: ToMain) => void) | null;
  onEnd: ((error: Error) => void) | null;
}

function revive(error: SerializedError): Error {
  if (error.kind && isErrorCode(error.code)) return new DomainError(error.kind as ErrorKind, error.code, error.message, error.path, error.details);
  return new Error(error.message);
}

export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const size = Math.max(1, options.size ?? 2);
  const memoryMb = options.memoryMb ?? 512;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const idleMs = options.idleMs ?? 60_000;
  const idle: Slot[] = [];
  const all = new Set<Slot>();
  let running = 0;
  let nextJob = 0;

  const discard = (slot: Slot) => {
    all.delete(slot);
    const at = idle.indexOf(slot);
    if (at >= 0) idle.splice(at, 1);
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    void slot.worker.terminate();
  };

  const spawn = (): Slot => {
    const worker = new Worker(WORKER_ENTRY, { resourceLimits: { maxOldGenerationSizeMb: memoryMb } });
    worker.unref();
    let readyResolve!: () => void;
    const slot: Slot = {
      worker,
      ready: new Promise<void>((resolve) => (readyResolve = resolve)),
      idleTimer: null,
      onMessage: null,
      onEnd: null,
    };
    worker.on('message', (message: ToMain) => {
      if (message.type === 'ready') readyResolve();
      else slot.onMessage?.(message);
    });
    const end = (error: Error) => {
      all.delete(slot);
      const at = idle.indexOf(slot);
      if (at >= 0) idle.splice(at, 1);
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      readyResolve();
      slot.onEnd?.(error);
    };
    worker.on('error', (error: Error & { code?: string }) =>
      end(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new WorkBudgetError('memory', memoryMb) : error),
    );
    worker.on('exit', (code) => end(new Error(`the worker stopped (exit code ${code})`)));
    all.add(slot);
    return slot;
  };

  const release = (slot: Slot) => {
    slot.onMessage = null;
    slot.onEnd = null;
    if (!all.has(slot)) return;
    idle.push(slot);
    slot.idleTimer = setTimeout(() => discard(slot), idleMs);
    slot.idleTimer.unref();
  };

  return {
    running: () => running,
    async run<T>(
      kind: string,
      input: unknown,
      calls: Record<string, (...args: never[]) => Promise<unknown>> = {},
      runOptions: { timeoutMs?: number } = {},
    ): Promise<T> {
      const budgetMs = runOptions.timeoutMs ?? timeoutMs;
      if (running >= size) throw new WorkersBusyError(`All ${size} workers are busy.`);
      running += 1;
      const slot = idle.pop() ?? spawn();
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.idleTimer = null;
      const id = ++nextJob;
      try {
        return await new Promise<T>((resolve, reject) => {
          let timer: NodeJS.Timeout | null = null;
          let settled = false;
          const settle = (fn: () => void) => {
            if (settled) return;
            settled = true;
            if (timer) clearTimeout(timer);
            fn();
          };
          slot.onEnd = (error) => settle(() => reject(error));
          slot.onMessage = (message) => {
            if (message.type === 'call') {
              if (message.id !== id) return;
              const fn = calls[message.method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
              const answer = fn ? Promise.resolve().then(() => fn(...message.args)) : Promise.reject(new Error(`no call ${message.method}`));
              answer.then(
                (value) => !settled && slot.worker.postMessage({ type: 'reply', callId: message.callId, value } satisfies ToWorker),
                (error: Error) =>
                  !settled && slot.worker.postMessage({ type: 'reply', callId: message.callId, error: { message: error.message } } satisfies ToWorker),
              );
              return;
            }
            if (message.type !== 'done' && message.type !== 'failed') return;
            if (message.id !== id) return;
            if (message.type === 'done') settle(() => resolve(message.value as T));
            else settle(() => reject(revive(message.error)));
          };
          void slot.ready.then(() => {
            if (settled) return;
            timer = setTimeout(() => {
              settle(() => reject(new WorkBudgetError('time', budgetMs)));
              discard(slot);
            }, budgetMs);
            slot.worker.postMessage({ type: 'job', id, kind, input } satisfies ToWorker);
          });
        });
      } finally {
        running -= 1;
        release(slot);
      }
    },
    async close() {
      await Promise.all([...all].map((slot) => (all.delete(slot), slot.worker.terminate())));
      idle.length = 0;
    },
  };
}

const pools = new WeakMap<object, WorkerPool>();

/** One pool per owner (an app's dependencies): simulations and backtests of an app share it. */
export function workerPoolFor(owner: object, options: WorkerPoolOptions = {}): WorkerPool {
  let pool = pools.get(owner);
  if (!pool) {
    pool = createWorkerPool(options);
    pools.set(owner, pool);
  }
  return pool;
}
