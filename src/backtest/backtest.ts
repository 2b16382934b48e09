/**
 * Backtests a candidate policy: replays stored claim histories under it on a virtual
 * clock and reports, per claim and in total, what would differ from what the claims
 * look like under the policy they follow today.
 */
import { performance } from 'node:perf_hooks';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { ClaimStore } from '../claims/claim-store';
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { PolicySource } from '../policies/policy-source';
import { replayHistory } from './replay';

export interface BacktestOptions {
  store: Pick<ClaimStore, 'allClaimIds' | 'getClaim' | 'listHistory'>;
  /** The versions claims follow today (the baseline). */
  policies: PolicySource;
  /** The policy to try. */
  candidate: CompiledPolicy;
  /** The virtual "now" both replays run to (the service's clock now); history after it is left out. */
  until: Date;
  /** Only claims created at or after this instant. */
  since?: Date;
  /** Called with (0, total) before any replay, then after each claim; a throw aborts the backtest (runBacktest rejects with it). */
  onProgress?: (done: number, total: number) => void;
  /** Replays in flight (default 4): the store is async, so reads overlap with replays. */
  concurrency?: number;
  /** Replay the baseline of every claim, instead of taking a stored record that is already complete. */
  fullReplay?: boolean;
  /**
   * Milliseconds for `totals.durationMs` only (default performance.now): a stopwatch,
   * not wall time in the domain's sense, so it is no clock the domain decides by.
   */
  now?: () => number;
}

export interface DeadlineOutcome {
  name: string;
  /** Local due date (the last whole day). */
  due: string;
  /** Instant it falls due. */
  dueAt: string;
  outcome: 'fired' | 'met' | 'pending';
}

export interface RefusedEvent {
  seq: number;
  event: string;
  code: string;
}

/** What a claim looks like at `until`. A claim whose create was refused has status `notCreated`. */
export interface ClaimOutcome {
  status: string;
  substatus: string | null;
  reason: string | null;
  overdue: string[];
  deficiencies: string[];
  deadlines: DeadlineOutcome[];
  /** History events the replayed policy refused (they were applied originally). */
  refused: RefusedEvent[];
}

export type ChangedField = 'status' | 'substatus' | 'reason' | 'overdue' | 'deficiencies' | 'deadlines' | 'refused';

export interface FieldChange {
  field: ChangedField;
  before: unknown;
  after: unknown;
  /** One line a program manager can read. */
  summary: string;
}

export interface ClaimBacktest {
  claimId: string;
  changed: boolean;
  baseline: ClaimOutcome;
  candidate: ClaimOutcome;
  changes: FieldChange[];
}

/** A claim the backtest could not compare (its baseline policy is not loaded, or a replay failed). */
export interface SkippedClaim {
  claimId: string;
  code: 'policyUnavailable' | 'replayFailed';
  message: string;
}

export interface BacktestReport {
  candidate: { id: string; version: string };
  until: string;
  since: string | null;
  totals: {
    claims: number;
    changed: number;
    unchanged: number;
    skipped: number;
    /** Claims with a change in each field. */
    byField: Record<string, number>;
    durationMs: number;
  };
  claims: ClaimBacktest[];
  skipped: SkippedClaim[];
}

export const CHANGED_FIELDS: readonly ChangedField[] = [
  'status',
  'substatus',
  'reason',
  'overdue',
  'deficiencies',
  'deadlines',
  'refused',
];

const DEFAULT_CONCURRENCY = 4;

/** Replays every stored claim (created since `since`) under the baseline and the candidate, and compares. */
export async function runBacktest(options: BacktestOptions): Promise<BacktestReport> {
  const { store, candidate, until, since, onProgress } = options;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));

  let ids = await store.allClaimIds();
  if (since) ids = ids.slice(await firstCreatedAtOrAfter(store, ids, since));
  const total = ids.length;
  const results: Array<ClaimBacktest | SkippedClaim | undefined> = new Array(total);
  let done = 0;
  onProgress?.(0, total);

  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      results[index] = await backtestClaim(ids[index]!, options);
      done += 1;
      onProgress?.(done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));

  const claims: ClaimBacktest[] = [];
  const skipped: SkippedClaim[] = [];
  for (const result of results) {
    if (!result) continue;
    if ('code' in result) skipped.push(result);
    else claims.push(result);
  }
  const byField: Record<string, number> = {};
  for (const claim of claims) for (const change of claim.changes) byField[change.field] = (byField[change.field] ?? 0) + 1;
  const changed = claims.filter((c) => c.changed).length;
  return {
    candidate: { id: candidate.policy.id, version: candidate.policy.version },
    until: until.toISOString(),
    since: since ? since.toISOString() : null,
    totals: {
      claims: claims.length,
      changed,
      unchanged: claims.length - changed,
      skipped: skipped.length,
      byField,
      durationMs: Math.round((now() - started) * 10) / 10,
    },
    claims,
    skipped,
  };
}

/**
 * Index of the first id created at or after `since`. The store lists ids by
 * (createdAt, id), so a binary search reads about log2(n) claims instead of all.
 */
export async function firstCreatedAtOrAfter(
  store: Pick<ClaimStore, 'getClaim'>,
  ids: readonly string[],
  since: Date,
): Promise<number> {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const claim = await store.getClaim(ids[middle]!);
    if (claim && Date.parse(claim.createdAt) < since.getTime()) low = middle + 1;
    else high = middle;
  }
  return low;
}

async function backtestClaim(claimId: string, options: BacktestOptions): Promise<ClaimBacktest | SkippedClaim | undefined> {
  const { store, candidate, until, since } = options;
  const [record, history] = await Promise.all([store.getClaim(claimId), store.listHistory(claimId)]);
  // Deleted meanwhile, created after `until` (it did not exist then), or (if the store's order were off) before `since`.
  if (!record || Date.parse(record.createdAt) > until.getTime()) return undefined;
  if (since && Date.parse(record.createdAt) < since.getTime()) return undefined;
  const entries = history.filter((entry) => Date.parse(entry.at) <= until.getTime());
  try {
    const baseline = await baselineOutcome(record, history, entries, options);
    if ('code' in baseline) return { claimId, ...baseline };
    const replayed = await replayHistory(candidate, entries, until);
    const after = outcomeOf(replayed.claim, replayed.refused);
    const changes = compareOutcomes(baseline, after);
    return { claimId, changed: changes.length > 0, baseline, candidate: after, changes };
  } catch (error) {
    return { claimId, code: 'replayFailed', message: (error as Error).message };
  }
}

/** The claim under the policy it follows today, at `until`: the stored record when that is already it, else a replay. */
async function baselineOutcome(
  record: ClaimRecord,
  history: readonly HistoryEntry[],
  entries: readonly HistoryEntry[],
  options: BacktestOptions,
): Promise<ClaimOutcome | Omit<SkippedClaim, 'claimId'>> {
  const { policies, until } = options;
  const policy = record.policyPinned ? policies.get(record.policy) : policies.current(until);
  const complete =
    entries.length === history.length && (record.nextDueAt === null || Date.parse(record.nextDueAt) > until.getTime());
  // A pinned claim follows record.policy by definition; an unpinned one follows the version in effect at `until`.
  const sameVersion = record.policyPinned || (policy !== undefined && samePolicy(record.policy, policy));
  if (!options.fullReplay && complete && sameVersion) return outcomeOf(record, []);
  if (!policy) {
    return {
      code: 'policyUnavailable',
      message: `Claim ${record.id} follows policy ${record.policy.id} ${record.policy.version}, which is not loaded.`,
    };
  }
  const replayed = await replayHistory(policy, entries, until);
  return outcomeOf(replayed.claim, replayed.refused);
}

const samePolicy = (ref: { id: string; version: string }, compiled: CompiledPolicy) =>
  ref.id === compiled.policy.id && ref.version === compiled.policy.version;

/** The comparable outcome of a claim record (undefined: its create was refused). */
export function outcomeOf(
  record: ClaimRecord | undefined,
  refused: ReadonlyArray<{ seq: number; event: string; code: string }>,
): ClaimOutcome {
  const refusedEvents = refused.map(({ seq, event, code }) => ({ seq, event, code }));
  if (!record) {
    return {
      status: 'notCreated',
      substatus: null,
      reason: null,
      overdue: [],
      deficiencies: [],
      deadlines: [],
      refused: refusedEvents,
    };
  }
  return {
    status: record.status,
    substatus: record.substatus,
    reason: record.reason,
    overdue: [...record.overdue].sort(),
    deficiencies: [...record.deficiencies].sort(),
    deadlines: record.deadlines.map((d) => ({
      name: d.name,
      due: d.due,
      dueAt: d.dueAt,
      outcome: d.status === 'fired' || d.status === 'met' ? d.status : 'pending',
    })),
    refused: refusedEvents,
  };
}

/** What differs from `before` to `after`, field by field; sets compare as sets, deadlines per run. */
export function compareOutcomes(before: ClaimOutcome, after: ClaimOutcome): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of ['status', 'substatus', 'reason'] as const) {
    if (before[field] !== after[field]) {
      changes.push({
        field,
        before: before[field],
        after: after[field],
        summary: `${field} ${before[field] ?? '-'} → ${after[field] ?? '-'}`,
      });
    }
  }
  for (const field of ['overdue', 'deficiencies'] as const) {
    const summary = setDifference(before[field], after[field]);
    if (summary) changes.push({ field, before: before[field], after: after[field], summary: `${field} ${summary}` });
  }
  const deadlines = deadlineDifferences(before.deadlines, after.deadlines);
  if (deadlines.length > 0) {
    changes.push({ field: 'deadlines', before: before.deadlines, after: after.deadlines, summary: deadlines.join('; ') });
  }
  const refusedKey = (r: RefusedEvent) => `${r.seq} ${r.event} ${r.code}`;
  const refused = setDifference(before.refused.map(refusedKey), after.refused.map(refusedKey));
  if (refused) {
    const describe = (list: RefusedEvent[]) => list.map((r) => `#${r.seq} ${r.event} (${r.code})`).join(', ') || 'none';
    changes.push({
      field: 'refused',
      before: before.refused,
      after: after.refused,
      summary: `refused ${describe(before.refused)} → ${describe(after.refused)}`,
    });
  }
  return changes;
}

/** `+added -removed`, or '' when the sets are equal. */
function setDifference(before: readonly string[], after: readonly string[]): string {
  const b = new Set(before);
  const a = new Set(after);
  const parts = [...[...a].filter((x) => !b.has(x)).map((x) => `+${x}`), ...[...b].filter((x) => !a.has(x)).map((x) => `-${x}`)];
  return parts.join(' ');
}

/** Runs of each deadline, keyed `name#n` (the nth run of that name). */
function runsOf(deadlines: readonly DeadlineOutcome[]): Map<string, DeadlineOutcome> {
  const runs = new Map<string, DeadlineOutcome>();
  const counts = new Map<string, number>();
  for (const d of deadlines) {
    const n = (counts.get(d.name) ?? 0) + 1;
    counts.set(d.name, n);
    runs.set(`${d.name}#${n}`, d);
  }
  return runs;
}

/** One line per deadline run whose due instant or outcome differs, or that runs only under one policy. */
function deadlineDifferences(before: readonly DeadlineOutcome[], after: readonly DeadlineOutcome[]): string[] {
  const b = runsOf(before);
  const a = runsOf(after);
  const show = (d: DeadlineOutcome) => `due ${d.due} ${d.outcome}`;
  const lines: string[] = [];
  for (const key of new Set([...b.keys(), ...a.keys()])) {
    const was = b.get(key);
    const is = a.get(key);
    if (was && is && was.dueAt === is.dueAt && was.outcome === is.outcome) continue;
    lines.push(`${key} ${was ? show(was) : 'not started'} → ${is ? show(is) : 'not started'}`);
  }
  return lines;
}
