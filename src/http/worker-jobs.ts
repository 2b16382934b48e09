/** Running a simulation or backtest in the app's worker pool, with its refusals as problems. */
import type { Response } from 'express';
import { WorkBudgetError, WorkersBusyError, workerPoolFor } from '../workers/worker-pool';
import type { HttpContext } from './context';
import { HttpError } from './errors';

/** A backtest's time budget (up to BACKTEST_MAX_CLAIMS replays): 10 minutes. */
const DEFAULT_BACKTEST_TIMEOUT_MS = 600_000;

/** Seconds a caller refused for busy workers is asked to wait. */
const BUSY_RETRY_AFTER_SECONDS = 2;

/**
 * Runs a `kind` job off the request thread. Busy workers answer 503 with Retry-After;
 * a job past its time or memory budget answers 422 `<kind>TooExpensive`.
 */
export async function runInWorker<T>(
  ctx: HttpContext,
  res: Response,
  /** simulate, timeline (a run and its picture) and coverage (scenarios with rule coverage) have a simulation's budget. */
  kind: 'simulate' | 'timeline' | 'coverage' | 'backtest',
  input: unknown,
  calls?: Record<string, (...args: never[]) => Promise<unknown>>,
): Promise<T> {
  const limits = ctx.deps.limits?.workers;
  const pool = workerPoolFor(ctx.deps, limits);
  const timeoutMs = kind === 'backtest' ? (limits?.backtestTimeoutMs ?? DEFAULT_BACKTEST_TIMEOUT_MS) : limits?.timeoutMs;
  try {
    return await pool.run<T>(kind, input, calls, timeoutMs === undefined ? {} : { timeoutMs });
  } catch (error) {
    const simulation = kind !== 'backtest';
    const what = simulation ? 'simulation' : 'backtest';
    if (error instanceof WorkersBusyError) {
      throw new HttpError('workersBusy', `Every ${what} worker is busy; try again in ${BUSY_RETRY_AFTER_SECONDS} seconds.`, {}, {
        retryAfterSec: BUSY_RETRY_AFTER_SECONDS,
      });
    }
    if (error instanceof WorkBudgetError) {
      throw new HttpError(
        simulation ? 'simulationTooExpensive' : 'backtestTooExpensive',
        `The ${what} was stopped: ${error.message}` +
          (kind === 'coverage' ? '; run fewer scenarios.' : simulation ? '; shorten the scenario.' : '; narrow it with since or until.'),
        { budget: error.budget, limit: error.limit },
      );
    }
    throw error;
  }
}
