/**
 * The streaming, parallel backtest: the calling thread reads claims in keyset batches
 * (one batch read ahead) and hands them to `workers` worker threads of a pool, each
 * running a `backtestShard` job that asks for batches until there are none; results come
 * back per batch and are passed on in claim order, so a report streams from the first
 * batch on. Memory is bounded by the batches in flight (at most 2 per worker ahead of
 * the oldest unfinished one), whatever the number of claims.
 */
import type { Writable } from 'node:stream';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ClaimBatchSource, ClaimBatchItem } from '../backtest/claim-source';
import type { Sink } from '../backtest/report-stream';
import { BacktestTotals, type ClaimResult, type LatencyFigures, type StreamTotals } from '../backtest/stream-backtest';
import { DomainError } from '../domain/errors';
import type { Policy } from '../rules/policy-types';
import type { ShippedPolicies } from '../simulate/shipped-policies';
import { WorkersBusyError, type WorkerPool } from './worker-pool';

/** What a `backtestShard` job gets (job-worker.ts). */
export interface BacktestShardJob {
  candidate: Policy;
  policies: ShippedPolicies;
  until: string;
  since?: string;
  latency: boolean;
  /** Rule results each shard keeps for its untimed replays (0: none). */
  ruleCacheEntries: number;
}

/** What a shard hands back when it is done: its claims, and how its rule cache did (null: no cache). */
export interface BacktestShardResult {
  claims: number;
  ruleCache: RuleCacheFigures | null;
}

export interface RuleCacheFigures {
  /** Rule-set evaluations answered from the cache, and those json-rules-engine ran. */
  hits: number;
  misses: number;
  /** Entries the caches held at the end (summed over the shards). */
  entries: number;
}

export interface BacktestBatch {
  index: number;
  /** The first item's place among all the claims read (0-based). */
  first: number;
  items: ClaimBatchItem[];
}

export interface ParallelBacktestOptions {
  source: ClaimBatchSource;
  pool: WorkerPool;
  /** Shards (worker threads) to run; default the machine's cores. The pool may grant fewer. */
  workers?: number;
  candidate: Policy;
  policies: ShippedPolicies;
  until: Date;
  since?: Date;
  /** Time the baseline's and the candidate's replays of a sample of the claims (stream-backtest.ts latencySample), cold. */
  latency?: boolean;
  /** Rule results each worker keeps for the untimed replays, shared across its claims (0: none; at most and by default 2,000, ~7 KB each). */
  ruleCacheEntries?: number;
  /** Claims per batch; default 100. */
  batchSize?: number;
  /** Refuse (422 tooManyClaims) before any replay when more claims would be read. */
  maxClaims?: number;
  /** Each claim's result, in (createdAt, id) order; a promise holds the backtest back (a slow sink). */
  onResult?: (result: ClaimResult) => void | Promise<void>;
  /** (0, total) first, then after each batch. */
  onProgress?: (done: number, total: number) => void;
  /** Time budget of each shard job (ms); default the pool's. */
  timeoutMs?: number;
}

export interface ParallelBacktestResult {
  totals: StreamTotals;
  latency: LatencyFigures | null;
  /** Worker threads that ran shards. */
  workers: number;
  /** The rule caches' figures over every shard; null without a cache. */
  ruleCache: RuleCacheFigures | null;
}

const DEFAULT_BATCH = 100;
const MAX_RULE_CACHE = 2000;

export async function runParallelBacktest(options: ParallelBacktestOptions): Promise<ParallelBacktestResult> {
  const started = performance.now();
  const { source, pool } = options;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
  const workers = Math.max(1, options.workers ?? availableParallelism());
  const total = await source.count();
  if (options.maxClaims !== undefined && total > options.maxClaims) {
    throw new DomainError(
      'input',
      'tooManyClaims',
      `The backtest would replay ${total} claims; at most ${options.maxClaims} at a time: narrow it with since.`,
      undefined,
      { claims: total, limit: options.maxClaims },
    );
  }
  options.onProgress?.(0, total);

  const totals = new BacktestTotals();
  const maxAhead = workers * 2;
  let failed = false;
  let exhausted = false;
  let nextIndex = 0;
  let position = 0;
  let flushed = 0;
  let done = 0;
  const finished = new Map<number, Array<ClaimResult | null>>();
  /** Wakes batch requests held back while the oldest batch is still out. */
  let wake: Array<() => void> = [];

  // Reads are one at a time (a keyset cursor), one batch ahead of the requests.
  let reading: Promise<ClaimBatchItem[]> | null = null;
  const read = () => (reading ??= source.next(batchSize));
  let serial = Promise.resolve();
  const nextBatch = (): Promise<BacktestBatch | null> => {
    const turn = serial.then(async (): Promise<BacktestBatch | null> => {
      while (!failed && nextIndex - flushed >= maxAhead) await new Promise<void>((resolve) => wake.push(resolve));
      if (failed || exhausted) return null;
      const items = await read();
      reading = null;
      if (items.length === 0) {
        exhausted = true;
        return null;
      }
      if (items.length === batchSize) void read().catch(() => undefined);
      const first = position;
      position += items.length;
      return { index: nextIndex++, first, items };
    });
    serial = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  };

  let flushing = Promise.resolve();
  const batchDone = (index: number, results: Array<ClaimResult | null>): Promise<void> => {
    finished.set(index, results);
    flushing = flushing.then(async () => {
      for (let batch = finished.get(flushed); batch; batch = finished.get(flushed)) {
        finished.delete(flushed);
        for (const result of batch) {
          if (!result) continue;
          totals.add(result);
          await options.onResult?.(result);
        }
        flushed += 1;
        done += batch.length;
        options.onProgress?.(done, total);
        const waiting = wake;
        wake = [];
        for (const resolve of waiting) resolve();
      }
    });
    return flushing;
  };

  const job: BacktestShardJob = {
    candidate: options.candidate,
    policies: options.policies,
    until: options.until.toISOString(),
    ...(options.since ? { since: options.since.toISOString() } : {}),
    latency: options.latency ?? false,
    ruleCacheEntries: Math.max(0, Math.min(options.ruleCacheEntries ?? MAX_RULE_CACHE, MAX_RULE_CACHE)),
  };
  const calls = { nextBatch, batchDone: (index: number, results: Array<ClaimResult | null>) => batchDone(index, results) };
  const shards = Array.from({ length: workers }, () =>
    pool.run<BacktestShardResult>('backtestShard', job, calls, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }).then(
      (shard) => ({ ok: true as const, shard }),
      (error: unknown) => {
        if (!(error instanceof WorkersBusyError)) {
          failed = true;
          const waiting = wake;
          wake = [];
          for (const resolve of waiting) resolve();
        }
        return { ok: false as const, error };
      },
    ),
  );
  const outcomes = await Promise.all(shards);
  const ran = outcomes.filter((o) => o.ok).length;
  const failure = outcomes.find((o) => !o.ok && !(o.error instanceof WorkersBusyError));
  if (failure && !failure.ok) throw failure.error;
  if (ran === 0) {
    const busy = outcomes.find((o) => !o.ok);
    throw busy && !busy.ok ? busy.error : new Error('no backtest shard ran');
  }
  await flushing;
  const caches = outcomes.flatMap((o) => (o.ok && o.shard.ruleCache ? [o.shard.ruleCache] : []));
  const sum = (key: keyof RuleCacheFigures) => caches.reduce((total, cache) => total + cache[key], 0);
  const ruleCache = caches.length > 0 ? { hits: sum('hits'), misses: sum('misses'), entries: sum('entries') } : null;
  return { totals: totals.totals(performance.now() - started), latency: totals.latency(), workers: ran, ruleCache };
}

/** A report writer's sink on a stream (a file, a response): waits for it to drain when its buffer is full. */
export function streamSink(stream: Writable): Sink {
  return (chunk) => {
    if (stream.write(chunk)) return;
    return new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      stream.once('error', failed);
      stream.once('drain', () => {
        stream.off('error', failed);
        resolve();
      });
    });
  };
}
