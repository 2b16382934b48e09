/**
 * The worker thread's side: runs simulations and backtests away from the thread that
 * serves requests. Jobs arrive as messages; a backtest reads claims by asking the main
 * thread (which owns the database connection: SQLite or PostgreSQL alike).
 */
import { parentPort } from 'node:worker_threads';
import { runBacktest } from '../backtest/backtest';
import { storedClaimOf } from '../backtest/claim-source';
import { backtestStoredClaim, type ClaimResult } from '../backtest/stream-backtest';
import { performance } from 'node:perf_hooks';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import { createRuleResultCache } from '../evaluation/rule-result-cache';
import { compilePolicy } from '../policies/compiled-policy';
import { DomainError } from '../domain/errors';
import type { Policy } from '../rules/policy-types';
import { runScenario } from '../simulate/run-scenario';
import type { Scenario } from '../simulate/scenario';
import { runCoverage } from '../simulate/scenario-coverage';
import { shippedPolicySource, type ShippedPolicies } from '../simulate/shipped-policies';
import { renderTimelineSvg } from '../simulate/timeline-svg';
import type { BacktestBatch, BacktestShardJob, BacktestShardResult } from './parallel-backtest';
import type { SerializedError, ToMain, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('job-worker runs in a worker thread');

let nextCall = 0;
const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

/** Asks the main thread to run `method` (one the job was given) and waits for the answer. */
function call<T>(jobId: number, method: string, args: unknown[]): Promise<T> {
  const callId = ++nextCall;
  return new Promise<T>((resolve, reject) => {
    pending.set(callId, { resolve: resolve as (value: unknown) => void, reject });
    port!.postMessage({ type: 'call', id: jobId, callId, method, args } satisfies ToMain);
  });
}

export interface SimulateJob {
  scenario: Scenario;
  policies: ShippedPolicies;
  /** The name the result (and its picture) gives the file; default `(request)`. */
  file?: string;
}

export interface CoverageJob {
  scenarios: Array<{ file: string; scenario: Scenario }>;
  policies: ShippedPolicies;
  threshold?: number;
}

export interface BacktestJob {
  candidate: Policy;
  policies: ShippedPolicies;
  until: string;
  since?: string;
  maxClaims: number;
}

/** Asks the main thread for batches until there are none, and hands back each batch's results (parallel-backtest.ts). */
async function backtestShard(id: number, input: BacktestShardJob): Promise<BacktestShardResult> {
  // One cache for the shard's claims: many claims meet the same facts under the same policy object.
  const ruleCache = input.ruleCacheEntries > 0 ? createRuleResultCache(input.ruleCacheEntries) : undefined;
  const ctx = {
    policies: shippedPolicySource(input.policies),
    candidate: compilePolicy(input.candidate),
    until: new Date(input.until),
    ...(input.since !== undefined ? { since: new Date(input.since) } : {}),
    latency: input.latency,
    stopwatch: () => performance.now(),
    ...(ruleCache ? { ruleCache } : {}),
  };
  let claims = 0;
  for (;;) {
    const batch = await call<BacktestBatch | null>(id, 'nextBatch', []);
    if (!batch) return { claims, ruleCache: ruleCache ? { hits: ruleCache.hits, misses: ruleCache.misses, entries: ruleCache.size } : null };
    // The first replays of a thread compile the policies and warm the machine up: one untimed round first, so neither side pays it.
    if (claims === 0 && input.latency && batch.items[0]) await backtestStoredClaim(storedClaimOf(batch.items[0]), { ...ctx, latency: true });
    const results: Array<ClaimResult | null> = [];
    for (const [i, item] of batch.items.entries()) {
      results.push((await backtestStoredClaim(storedClaimOf(item), ctx, batch.first + i)) ?? null);
    }
    claims += batch.items.length;
    await call(id, 'batchDone', [batch.index, results]);
  }
}

const jobs: Record<string, (id: number, input: never) => Promise<unknown>> = {
  backtestShard,
  simulate: (_id, input: SimulateJob) =>
    runScenario(input.scenario, { file: '(request)', policies: shippedPolicySource(input.policies) }),
  /** The run and its picture (null when no policy version ran it). */
  timeline: async (_id, input: SimulateJob) => {
    const policies = shippedPolicySource(input.policies);
    const result = await runScenario(input.scenario, { file: input.file ?? '(request)', policies });
    const compiled = result.timeline.length > 0 ? policies.get(result.policy) : undefined;
    return { result, svg: compiled ? renderTimelineSvg(result, compiled) : null };
  },
  coverage: (_id, input: CoverageJob) => runCoverage(input.scenarios, shippedPolicySource(input.policies), input.threshold),
  backtest: (id, input: BacktestJob) =>
    runBacktest({
      store: {
        allClaimIds: () => call<string[]>(id, 'allClaimIds', []),
        getClaim: (claimId: string) => call<ClaimRecord | undefined>(id, 'getClaim', [claimId]),
        listHistory: (claimId: string) => call<HistoryEntry[]>(id, 'listHistory', [claimId]),
      },
      policies: shippedPolicySource(input.policies),
      candidate: compilePolicy(input.candidate),
      until: new Date(input.until),
      ...(input.since !== undefined ? { since: new Date(input.since) } : {}),
      onProgress: (done, total) => {
        // Called with (0, total) before any replay: refuse before doing the work.
        if (done === 0 && total > input.maxClaims) {
          throw new DomainError(
            'input',
            'tooManyClaims',
            `The backtest would replay ${total} claims; at most ${input.maxClaims} at a time: narrow it with since.`,
            undefined,
            { claims: total, limit: input.maxClaims },
          );
        }
      },
    }),
};

function serialize(error: unknown): SerializedError {
  if (error instanceof DomainError) {
    return {
      message: error.message,
      kind: error.kind,
      code: error.code,
      ...(error.path !== undefined ? { path: error.path } : {}),
      ...(error.details !== undefined ? { details: error.details } : {}),
    };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'reply') {
    const waiting = pending.get(message.callId);
    pending.delete(message.callId);
    if (!waiting) return;
    if (message.error) waiting.reject(new Error(message.error.message));
    else waiting.resolve(message.value);
    return;
  }
  const run = jobs[message.kind];
  const work = run ? run(message.id, message.input as never) : Promise.reject(new Error(`unknown job ${message.kind}`));
  work.then(
    (value) => port.postMessage({ type: 'done', id: message.id, value } satisfies ToMain),
    (error: unknown) => port.postMessage({ type: 'failed', id: message.id, error: serialize(error) } satisfies ToMain),
  );
});

port.postMessage({ type: 'ready' } satisfies ToMain);
