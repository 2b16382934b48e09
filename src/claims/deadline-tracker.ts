/**
 * Deadlines as data: which of a policy's deadlines start, pause, resume and end
 * when a claim moves from one state to another (DESIGN.md, "Deadlines").
 */
import { dueDateFor, extendDueDate, fallsDueAt, type Calendar, type DeadlineDuration } from '../calendar';
import type { LeafState } from '../machines/claim-transitions';
import { isInAnyState } from '../domain/claim-types';
import type { DeadlinePolicy, Policy } from '../rules/policy-types';

export type DeadlineStatus = 'running' | 'paused' | 'fired' | 'met';

/** One run of a named deadline on one claim. */
export interface DeadlineRecord {
  /** `<name>-<run>`: unique within the claim. */
  id: string;
  name: string;
  /** Instant the clock started. */
  startedAt: string;
  /** Local due date: the last whole day the party has. */
  due: string;
  /** Instant it falls due: 00:00 local time of the day after `due`. */
  dueAt: string;
  status: DeadlineStatus;
  /** Local date a pause began (status paused). */
  pausedOn?: string;
  /** Instant it was met or fired. */
  endedAt?: string;
  /** Fired, and the claim has not left the deadline's states since (overdue flag, closed window). */
  lapsed: boolean;
}

function durationOf(spec: DeadlinePolicy): DeadlineDuration {
  return spec.businessDays !== undefined ? { businessDays: spec.businessDays } : { days: spec.days ?? 0 };
}

/**
 * The deadlines after a claim moves `from` → `to` at instant `at`. A self-transition
 * changes nothing. Returns a new list; records are never mutated.
 */
export function trackDeadlines(
  policy: Policy,
  calendar: Calendar,
  deadlines: readonly DeadlineRecord[],
  from: LeafState,
  to: LeafState,
  at: Date,
): DeadlineRecord[] {
  if (from === to) return [...deadlines];
  const today = calendar.localDate(at);
  const next = deadlines.map((record) => {
    const spec = policy.deadlines[record.name];
    if (!spec) return record;
    const stays = isInAnyState(to, spec.runsIn) || isInAnyState(to, spec.pausedIn);
    if (record.status === 'fired' || record.status === 'met') {
      return record.lapsed && !stays ? { ...record, lapsed: false } : record;
    }
    if (!stays) return { ...record, status: 'met' as const, endedAt: at.toISOString(), pausedOn: undefined };
    if (isInAnyState(to, spec.runsIn) && record.status === 'paused') {
      const due = extendDueDate(calendar, durationOf(spec), record.due, record.pausedOn!, today);
      return {
        ...record,
        status: 'running' as const,
        due,
        dueAt: fallsDueAt(calendar, due).toISOString(),
        pausedOn: undefined,
      };
    }
    if (isInAnyState(to, spec.pausedIn) && record.status === 'running') {
      return { ...record, status: 'paused' as const, pausedOn: today };
    }
    return record;
  });
  for (const [name, spec] of Object.entries(policy.deadlines)) {
    // A clock starts only when the claim enters a runsIn state from outside runsIn ∪ pausedIn.
    if (!isInAnyState(to, spec.runsIn) || isInAnyState(from, spec.runsIn) || isInAnyState(from, spec.pausedIn)) continue;
    const due = dueDateFor(calendar, durationOf(spec), today);
    // Ids are derived, not random, so that replaying a history reproduces them.
    const run = next.filter((d) => d.name === name).length + 1;
    next.push({
      id: `${name}-${run}`,
      name,
      startedAt: at.toISOString(),
      due,
      dueAt: fallsDueAt(calendar, due).toISOString(),
      status: 'running',
      lapsed: false,
    });
  }
  return next.map(stripUndefined);
}

function stripUndefined(record: DeadlineRecord): DeadlineRecord {
  if (record.pausedOn !== undefined) return record;
  const { pausedOn: _omit, ...rest } = record;
  return rest;
}

/** Running deadlines due at or before `until`, earliest first (ties: policy order, then start). */
export function dueDeadlines(deadlines: readonly DeadlineRecord[], until: Date): DeadlineRecord[] {
  const limit = until.getTime();
  return deadlines
    .filter((d) => d.status === 'running' && Date.parse(d.dueAt) <= limit)
    .sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt));
}

/** A running deadline fired at its due instant: lapsed, unless its onDue sends an event (which moves the claim on). */
export function firedDeadline(policy: Policy, deadline: DeadlineRecord): DeadlineRecord {
  const action = policy.deadlines[deadline.name]?.onDue;
  return { ...deadline, status: 'fired', endedAt: deadline.dueAt, lapsed: !(action && 'send' in action) };
}

/** The earliest instant a running deadline falls due, or null. */
export function nextDueAt(deadlines: readonly DeadlineRecord[]): string | null {
  let best: string | null = null;
  for (const d of deadlines) {
    if (d.status === 'running' && (best === null || Date.parse(d.dueAt) < Date.parse(best))) best = d.dueAt;
  }
  return best;
}

/** Names of escalated deadlines that still flag the claim overdue. */
export function overdueNames(policy: Policy, deadlines: readonly DeadlineRecord[]): string[] {
  return [
    ...new Set(
      deadlines
        .filter((d) => d.lapsed && policy.deadlines[d.name] && 'escalate' in policy.deadlines[d.name]!.onDue)
        .map((d) => d.name),
    ),
  ];
}

/** Events closed by lapsed window deadlines, mapped to the deadline that closed them. */
export function closedEvents(policy: Policy, deadlines: readonly DeadlineRecord[]): Record<string, string> {
  const closed: Record<string, string> = {};
  for (const d of deadlines) {
    const action = policy.deadlines[d.name]?.onDue;
    if (d.lapsed && action && 'closes' in action) for (const event of action.closes) closed[event] ??= d.name;
  }
  return closed;
}
