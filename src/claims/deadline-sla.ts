/**
 * The SLA of each deadline, derived from claims' histories: every run of a deadline (started,
 * met, fired, paused on the way), replayed from the history entries under the policy version
 * each entry names (the tracker the service itself runs), and the business days it used.
 * Pure: the caller reads the histories.
 */
import { toEpochDay } from '../calendar/calendar';
import type { LeafState } from '../machines/claim-transitions';
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { HistoryEntry } from './claim-record';
import { firedDeadline, trackDeadlines, type DeadlineRecord } from './deadline-tracker';

/** One run of a deadline on one claim. */
export interface SlaRun {
  claimId: string;
  deadline: string;
  startedAt: string;
  /** The Monday (local date) of the week it started in. */
  week: string;
  /** Product lines the claim names (a claim may name both). */
  productLines: string[];
  outcome: 'met' | 'fired' | 'running' | 'paused';
  /** It stood paused at least once. */
  paused: boolean;
  /**
   * Business days it used, ended runs only: business days after the start date up to the
   * date it ended (met) or its due date (fired), less those it stood paused.
   */
  businessDaysUsed: number | null;
}

/** The deadline runs of one claim's history (seq order); entries under a version `policyOf` does not know are skipped. */
export function slaRuns(
  claimId: string,
  history: readonly HistoryEntry[],
  productLines: readonly string[],
  policyOf: (ref: { id: string; version: string }) => CompiledPolicy | undefined,
): SlaRun[] {
  let deadlines: DeadlineRecord[] = [];
  const pausedDays = new Map<string, number>();
  const everPaused = new Set<string>();
  let calendar: CompiledPolicy['calendar'] | undefined;
  for (const entry of history) {
    const compiled = policyOf(entry.policy);
    if (!compiled) continue;
    calendar = compiled.calendar;
    const name = typeof entry.payload.deadline === 'string' ? entry.payload.deadline : undefined;
    if (name !== undefined && entry.event === `${name}Due` && entry.actor.role === 'system') {
      deadlines = deadlines.map((d) => (d.name === name && d.status === 'running' && d.dueAt === entry.at ? firedDeadline(compiled.policy, d) : d));
    }
    const before = new Map(deadlines.map((d) => [d.id, d]));
    deadlines = trackDeadlines(compiled.policy, compiled.calendar, deadlines, entry.from as LeafState, entry.to as LeafState, new Date(entry.at));
    const today = compiled.calendar.localDate(entry.at);
    for (const d of deadlines) {
      const was = before.get(d.id);
      if (d.status === 'paused' && was?.status !== 'paused') everPaused.add(d.id);
      if (was?.status === 'paused' && d.status !== 'paused' && was.pausedOn) {
        pausedDays.set(d.id, (pausedDays.get(d.id) ?? 0) + Math.max(0, compiled.calendar.countBusinessDays(was.pausedOn, today)));
      }
    }
  }
  if (!calendar) return [];
  const cal = calendar;
  return deadlines.map((d) => {
    const start = cal.localDate(d.startedAt);
    let used: number | null = null;
    if (d.status === 'met' || d.status === 'fired') {
      const end = d.status === 'fired' ? d.due : cal.localDate(d.endedAt!);
      used = Math.max(0, cal.countBusinessDays(cal.addDays(start, 1), cal.addDays(end, 1)) - (pausedDays.get(d.id) ?? 0));
    }
    return {
      claimId,
      deadline: d.name,
      startedAt: d.startedAt,
      week: mondayOf(cal, start),
      productLines: [...productLines],
      outcome: d.status,
      paused: everPaused.has(d.id),
      businessDaysUsed: used,
    };
  });
}

/** The Monday on or before a local date (1970-01-01 was a Thursday). */
function mondayOf(calendar: CompiledPolicy['calendar'], date: string): string {
  const weekday = (((toEpochDay(date) + 3) % 7) + 7) % 7;
  return calendar.addDays(date, -weekday);
}

/** One deadline's numbers over a set of runs. */
export interface SlaRow {
  deadline: string;
  started: number;
  met: number;
  fired: number;
  /** Runs that stood paused at least once. */
  paused: number;
  /** Runs still running or paused. */
  open: number;
  /** met / (met + fired); null when none ended. */
  shareMet: number | null;
  /** Median and 90th percentile of business days used by the ended runs (linear interpolation, as numpy's percentile); null when none ended. */
  medianBusinessDays: number | null;
  p90BusinessDays: number | null;
}

export interface SlaGroup {
  /** The week's Monday (groupBy week) or the product line (groupBy productLine). */
  group: string;
  deadlines: SlaRow[];
}

export type SlaGroupBy = 'week' | 'productLine';

/** Per deadline (in `order`, then any other name), over all runs and per group. */
export function slaReport(runs: readonly SlaRun[], order: readonly string[], groupBy?: SlaGroupBy): { deadlines: SlaRow[]; groups: SlaGroup[] } {
  const names = [...new Set([...order, ...runs.map((r) => r.deadline)])];
  const rows = (subset: readonly SlaRun[]) =>
    names.flatMap((name) => {
      const mine = subset.filter((r) => r.deadline === name);
      return mine.length === 0 && !order.includes(name) ? [] : [slaRow(name, mine)];
    });
  const groups: SlaGroup[] = [];
  if (groupBy) {
    const keys = new Set<string>();
    for (const run of runs) for (const key of groupBy === 'week' ? [run.week] : run.productLines) keys.add(key);
    for (const key of [...keys].sort()) {
      const subset = runs.filter((r) => (groupBy === 'week' ? r.week === key : r.productLines.includes(key)));
      groups.push({ group: key, deadlines: rows(subset).filter((row) => row.started > 0) });
    }
  }
  return { deadlines: rows(runs), groups };
}

function slaRow(deadline: string, runs: readonly SlaRun[]): SlaRow {
  const met = runs.filter((r) => r.outcome === 'met').length;
  const fired = runs.filter((r) => r.outcome === 'fired').length;
  const used = runs.flatMap((r) => (r.businessDaysUsed === null ? [] : [r.businessDaysUsed])).sort((a, b) => a - b);
  return {
    deadline,
    started: runs.length,
    met,
    fired,
    paused: runs.filter((r) => r.paused).length,
    open: runs.filter((r) => r.outcome === 'running' || r.outcome === 'paused').length,
    shareMet: met + fired === 0 ? null : met / (met + fired),
    medianBusinessDays: percentile(used, 0.5),
    p90BusinessDays: percentile(used, 0.9),
  };
}

/** Linear interpolation between closest ranks (numpy.percentile's default) of sorted values; null for none. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}
