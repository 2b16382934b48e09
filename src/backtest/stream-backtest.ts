/**
 * The streaming backtest's pure parts: one claim (record and history, as stored)
 * compared under its baseline and the candidate on lean replays (lean-replay.ts), the
 * running totals and latency figures (bounded: counters and fixed histograms, whatever
 * the number of claims), and nothing else. Reading batches and spreading them over
 * worker threads is src/workers/parallel-backtest.ts; writing reports is report-stream.ts.
 */
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { RuleResultCache } from '../evaluation/rule-result-cache';
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { PolicySource } from '../policies/policy-source';
import { CHANGED_FIELDS, compareOutcomes, outcomeOf, type ClaimBacktest, type ClaimOutcome, type SkippedClaim } from './backtest';
import type { Facts } from '../rules/facts';
import { replayLean } from './lean-replay';

/** One stored claim as the backtest reads it. */
export interface StoredClaim {
  record: ClaimRecord;
  history: HistoryEntry[];
}

/** Milliseconds the baseline's and the candidate's replay of one claim took (the same claim, one after the other). */
export interface ReplayTiming {
  baselineMs: number;
  candidateMs: number;
}

export type ClaimResult =
  | { kind: 'claim'; claim: ClaimBacktest; timing?: ReplayTiming }
  | { kind: 'skipped'; skipped: SkippedClaim };

export interface ClaimBacktestContext {
  policies: PolicySource;
  candidate: CompiledPolicy;
  until: Date;
  since?: Date;
  /**
   * Time both replays of the sampled claims (latencySample: the first 1,000, then every 100th),
   * each replayed cold (no rule cache); the other claims are not timed, and a complete stored
   * record stands for their baseline.
   */
  latency: boolean;
  /** Milliseconds, for the latency figures only (a stopwatch, not the domain's clock). */
  stopwatch: () => number;
  /** Rule results shared across the untimed replays (keyed by compiled policy and facts digest); none when absent. */
  ruleCache?: RuleResultCache;
}

/** Claims whose replays are all timed, then one in LATENCY_EVERY. */
const LATENCY_FIRST = 1000;
const LATENCY_EVERY = 100;

/** The claim at `position` (0-based, in report order) among the timed sample: its ordinal in the sample, or undefined. */
export function latencySample(position: number): number | undefined {
  if (position < LATENCY_FIRST) return position;
  return (position - LATENCY_FIRST) % LATENCY_EVERY === 0 ? LATENCY_FIRST + (position - LATENCY_FIRST) / LATENCY_EVERY : undefined;
}

/**
 * A claim compared under its baseline and the candidate; undefined when it is not in the backtest (created after
 * `until` or before `since`). `position` is the claim's place in the report (for the latency sample).
 */
export async function backtestStoredClaim(stored: StoredClaim, ctx: ClaimBacktestContext, position = 0): Promise<ClaimResult | undefined> {
  const { record, history } = stored;
  const { until, since, policies, candidate } = ctx;
  if (Date.parse(record.createdAt) > until.getTime()) return undefined;
  if (since && Date.parse(record.createdAt) < since.getTime()) return undefined;
  const claimId = record.id;
  const entries = history.filter((entry) => Date.parse(entry.at) <= until.getTime());
  const policy = record.policyPinned ? policies.get(record.policy) : policies.current(until);
  const complete = entries.length === history.length && (record.nextDueAt === null || Date.parse(record.nextDueAt) > until.getTime());
  const sameVersion = record.policyPinned || (policy !== undefined && policy.policy.id === record.policy.id && policy.policy.version === record.policy.version);
  const shortcut = complete && sameVersion;
  if (!shortcut && !policy) {
    return {
      kind: 'skipped',
      skipped: {
        claimId,
        code: 'policyUnavailable',
        message: `Claim ${record.id} follows policy ${record.policy.id} ${record.policy.version}, which is not loaded.`,
      },
    };
  }
  try {
    const sample = ctx.latency && policy ? latencySample(position) : undefined;
    // Timed replays run cold (every rule run by json-rules-engine): the figures are the policies' own cost.
    const cache = sample === undefined ? ctx.ruleCache : undefined;
    const evaluateRules = cache ? (compiled: CompiledPolicy, facts: Facts) => cache.evaluate(compiled, facts) : undefined;
    const replay = async (compiled: CompiledPolicy) => {
      const started = ctx.stopwatch();
      const replayed = await replayLean(compiled, entries, until, evaluateRules);
      return { outcome: outcomeOf(replayed.claim, replayed.refused), ms: ctx.stopwatch() - started };
    };
    let baseline: ClaimOutcome;
    let after: ClaimOutcome;
    let timing: ReplayTiming | undefined;
    if (sample !== undefined) {
      // Every other timed claim the candidate goes first, so a warm engine or a busy moment favours neither.
      const first = sample % 2 === 0 ? await replay(policy!) : await replay(candidate);
      const second = sample % 2 === 0 ? await replay(candidate) : await replay(policy!);
      const [b, c] = sample % 2 === 0 ? [first, second] : [second, first];
      baseline = shortcut ? outcomeOf(record, []) : b.outcome;
      after = c.outcome;
      timing = { baselineMs: b.ms, candidateMs: c.ms };
    } else {
      baseline = shortcut ? outcomeOf(record, []) : (await replay(policy!)).outcome;
      after = (await replay(candidate)).outcome;
    }
    const changes = compareOutcomes(baseline, after);
    return { kind: 'claim', claim: { claimId, changed: changes.length > 0, baseline, candidate: after, changes }, ...(timing ? { timing } : {}) };
  } catch (error) {
    return { kind: 'skipped', skipped: { claimId, code: 'replayFailed', message: (error as Error).message } };
  }
}

// ---------------------------------------------------------------------------
// Latency: a log-scale histogram (2% wide buckets from 1 µs), so quantiles need no list of samples.

const BUCKET_GROWTH = 1.02;
const MIN_MS = 0.001;
const BUCKETS = Math.ceil(Math.log(1e7) / Math.log(BUCKET_GROWTH)) + 1;

class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;

  add(ms: number): void {
    const bucket = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(BUCKET_GROWTH)));
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.count += 1;
    this.sum += ms;
  }

  /** The q-quantile (0..1), to within a bucket's width (2%). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return MIN_MS * BUCKET_GROWTH ** bucket;
    }
    return MIN_MS * BUCKET_GROWTH ** (BUCKETS - 1);
  }
}

export interface LatencyFigures {
  /** Claims both replays were timed on. */
  claims: number;
  /** Milliseconds per claim (elapsed inside the replaying worker thread). */
  baseline: { medianMs: number; p90Ms: number; meanMs: number };
  candidate: { medianMs: number; p90Ms: number; meanMs: number };
  /** Candidate's total time over the baseline's on the same claims, in percent (+25 = a quarter slower). */
  increasePct: number;
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

// ---------------------------------------------------------------------------
// Totals

export interface StreamTotals {
  claims: number;
  changed: number;
  unchanged: number;
  skipped: number;
  /** Claims with a change in each field. */
  byField: Record<string, number>;
  /** Claims per status before → after (`approved → rejected`), for the chart; unchanged statuses too. */
  byStatus: Array<{ before: string; after: string; claims: number }>;
  /** Claims whose reason changed, per reason before → after. */
  byReason: Array<{ before: string | null; after: string | null; claims: number }>;
  durationMs: number;
}

/** Distinct before → after pairs kept per chart; beyond this they are counted under `other`. */
const MAX_PAIRS = 200;

/** Running totals over claim results: counters only, whatever the number of claims. */
export class BacktestTotals {
  private claims = 0;
  private changed = 0;
  private skipped = 0;
  private readonly byField: Record<string, number> = {};
  private readonly byStatus = new Map<string, { before: string; after: string; claims: number }>();
  private readonly byReason = new Map<string, { before: string | null; after: string | null; claims: number }>();
  private readonly baseline = new Histogram();
  private readonly candidate = new Histogram();

  add(result: ClaimResult): void {
    if (result.kind === 'skipped') {
      this.skipped += 1;
      return;
    }
    const { claim, timing } = result;
    this.claims += 1;
    if (claim.changed) this.changed += 1;
    for (const change of claim.changes) this.byField[change.field] = (this.byField[change.field] ?? 0) + 1;
    const status = (o: ClaimOutcome) => (o.substatus ? `${o.status}.${o.substatus}` : o.status);
    count(this.byStatus, { before: status(claim.baseline), after: status(claim.candidate) });
    if (claim.baseline.reason !== claim.candidate.reason) count(this.byReason, { before: claim.baseline.reason, after: claim.candidate.reason });
    if (timing) {
      this.baseline.add(timing.baselineMs);
      this.candidate.add(timing.candidateMs);
    }
  }

  totals(durationMs: number): StreamTotals {
    const byField: Record<string, number> = {};
    for (const field of CHANGED_FIELDS) if (this.byField[field]) byField[field] = this.byField[field];
    const sorted = <T extends { claims: number }>(map: Map<string, T>) => [...map.values()].sort((a, b) => b.claims - a.claims);
    return {
      claims: this.claims,
      changed: this.changed,
      unchanged: this.claims - this.changed,
      skipped: this.skipped,
      byField,
      byStatus: sorted(this.byStatus),
      byReason: sorted(this.byReason),
      durationMs: Math.round(durationMs * 10) / 10,
    };
  }

  /** Null when no claim was timed. */
  latency(): LatencyFigures | null {
    if (this.baseline.count === 0) return null;
    const figures = (h: Histogram) => ({ medianMs: round3(h.quantile(0.5)), p90Ms: round3(h.quantile(0.9)), meanMs: round3(h.sum / h.count) });
    return {
      claims: this.baseline.count,
      baseline: figures(this.baseline),
      candidate: figures(this.candidate),
      increasePct: this.baseline.sum > 0 ? Math.round((this.candidate.sum / this.baseline.sum - 1) * 1000) / 10 : 0,
    };
  }
}

function count<T extends { before: unknown; after: unknown }>(map: Map<string, T & { claims: number }>, pair: T): void {
  let key = JSON.stringify([pair.before, pair.after]);
  let entry = map.get(key);
  if (!entry && map.size >= MAX_PAIRS) {
    key = '"other"';
    entry = map.get(key) ?? { ...pair, before: 'other', after: 'other', claims: 0 };
    map.set(key, entry);
  }
  if (!entry) {
    entry = { ...pair, claims: 0 };
    map.set(key, entry);
  }
  entry.claims += 1;
}
