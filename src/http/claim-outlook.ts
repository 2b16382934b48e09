/**
 * What a person needs to know about a claim now, for the dashboard and any other client:
 * the time left on each deadline (business days in the policy's time zone), what the
 * status means and what happens next (the policy's texts, in the caller's language), which
 * actions the caller may take now and why not the others, the fields editable now, the PoE
 * deficiencies the rules detect now, and the dispute window. Read-only: nothing is stored.
 */
import type { Principal } from '../auth/authenticator';
import { extendDueDate, fallsDueAt, type DeadlineDuration } from '../calendar';
import type { ClaimRecord } from '../claims/claim-record';
import type { ClaimService } from '../claims/claim-service';
import { closedEvents, type DeadlineRecord } from '../claims/deadline-tracker';
import { fireDeadlines } from '../claims/lifecycle';
import type { ClaimEvent, EventType } from '../domain/claim-types';
import { refusalBeforePayload } from '../machines/claim-machine';
import type { GuardName, LeafState } from '../machines/claim-transitions';

import type { CompiledPolicy } from '../policies/compiled-policy';
import type { DeadlinePolicy, Policy, StatusText } from '../rules/policy-types';

/** The languages status texts (and the dashboard) ship in; the first is the default. */
export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

/** The shipped language an Accept-Language header prefers most (highest q, then order); English when none. */
export function preferredLanguage(header: string | undefined): Language {
  if (!header) return 'en';
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { language: tag.trim().toLowerCase().split('-')[0]!, q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.q > 0 && Number.isFinite(entry.q))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return (ranked.find((entry) => (LANGUAGES as readonly string[]).includes(entry.language))?.language as Language | undefined) ?? 'en';
}

export interface StatusTextView {
  title: string;
  meaning: string;
  next: string;
}

/** A state's texts in `language`: the state's own, else its status's (`approved.*` → `approved`), else its name. */
export function statusTextOf(policies: readonly Policy[], state: string, language: Language): StatusTextView {
  const status = state.split('.')[0]!;
  for (const policy of policies) {
    const texts: Partial<Record<string, StatusText>> = policy.statuses ?? {};
    const text = texts[state] ?? texts[status];
    if (text) return { title: text.title[language], meaning: text.meaning[language], next: text.next[language] };
  }
  return { title: state, meaning: '', next: '' };
}

export interface DeadlineView {
  name: string;
  startedAt: string;
  due: string;
  dueAt: string;
  status: DeadlineRecord['status'];
  paused: boolean;
  /** What the policy counts this deadline in: business days of its calendar, or calendar days. */
  unit: 'businessDays' | 'days';
  /** Days left in `unit`. */
  daysLeft: number;
  businessDaysLeft: number;
  hoursLeft: number;
  atRisk: boolean;
  overdue: boolean;
}

/** At risk: running with at most a fifth of its duration left (at least one day). */
const AT_RISK_SHARE = 0.2;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const durationOf = (spec: DeadlinePolicy): DeadlineDuration =>
  spec.businessDays !== undefined ? { businessDays: spec.businessDays } : { days: spec.days ?? 0 };

/**
 * A claim's deadlines with the time left at `now`. A paused clock's time left is what it
 * would have if it resumed now (the pause so far added to its due date); `due` and `dueAt`
 * stay the recorded ones. Days left count the days after
 * today up to the due date, in the unit the policy counts the deadline in (business days per the
 * calendar, or calendar days); hours left run to the due instant.
 */
export function deadlineViews(compiled: CompiledPolicy, deadlines: readonly DeadlineRecord[], now: Date): DeadlineView[] {
  const { calendar, policy } = compiled;
  const today = calendar.localDate(now);
  return deadlines.map((d) => {
    const spec = policy.deadlines[d.name];
    const open = d.status === 'running' || d.status === 'paused';
    // A paused clock counts its time left from the due date it would have if it resumed now.
    let { due, dueAt } = d;
    if (d.status === 'paused' && spec && d.pausedOn) {
      due = extendDueDate(calendar, durationOf(spec), d.due, d.pausedOn, today);
      dueAt = fallsDueAt(calendar, due).toISOString();
    }
    const msLeft = open ? Date.parse(dueAt) - now.getTime() : 0;
    const businessDaysLeft =
      open && msLeft > 0 ? Math.max(0, calendar.countBusinessDays(calendar.addDays(today, 1), calendar.addDays(due, 1))) : 0;
    const unit = spec?.businessDays === undefined && spec?.days !== undefined ? 'days' : 'businessDays';
    const calendarDaysLeft = open && msLeft > 0 ? Math.max(0, Math.round((Date.parse(due) - Date.parse(today)) / DAY_MS)) : 0;
    const escalates = spec !== undefined && 'escalate' in spec.onDue;
    const overdue = (open && msLeft <= 0) || (d.status === 'fired' && d.lapsed && escalates);
    let atRisk = false;
    if (d.status === 'running' && msLeft > 0 && spec) {
      const duration = durationOf(spec);
      const margin = Math.max(1, Math.ceil(('businessDays' in duration ? duration.businessDays : duration.days) * AT_RISK_SHARE));
      atRisk = 'businessDays' in duration ? businessDaysLeft <= margin : msLeft <= margin * DAY_MS;
    }
    return {
      name: d.name,
      startedAt: d.startedAt,
      due: d.due,
      dueAt: d.dueAt,
      status: d.status,
      paused: d.status === 'paused',
      unit,
      daysLeft: unit === 'days' ? calendarDaysLeft : businessDaysLeft,
      businessDaysLeft,
      hoursLeft: open ? Math.max(0, Math.floor(msLeft / HOUR_MS)) : 0,
      atRisk,
      overdue,
    };
  });
}

export interface ActionView {
  event: EventType;
  allowed: boolean;
  reason?: string;
  code?: string;
}

/** The events a person takes on a claim, in the order a dashboard offers them. */
const CALLER_EVENTS = [
  'edit',
  'uploadPoe',
  'removePoe',
  'comment',
  'submit',
  'resubmit',
  'withdraw',
  'startReview',
  'requestInfo',
  'approve',
  'reject',
  'denyConsent',
  'dispute',
  'resolveDispute',
] as const satisfies readonly EventType[];

export interface ClaimOutlook {
  timeZone: string;
  deadlines: DeadlineView[];
  statusText: StatusTextView;
  actions: ActionView[];
  editableFields: string[];
  deficiencies: Array<{ code: string; description: string }>;
  disputeWindow?: { open: boolean; daysLeft: number };
}

/**
 * The claim as `principal` meets it at `now`: deadlines already due are fired first (as the
 * next write would), then each action is judged by the machine's own guards — role and state,
 * window, ownership, submission requirements, dispute and PoE limits — leaving out only what
 * depends on a payload not yet written (a reason, deficiency codes, a file).
 */
export async function claimOutlook(
  service: ClaimService,
  stored: ClaimRecord,
  principal: Principal,
  now: Date,
  language: Language,
): Promise<ClaimOutlook> {
  const { record } = await fireDeadlines(service.policyFor, stored, now);
  const compiled = service.policyFor(record, now);
  const { policy, claim: machine, rules } = compiled;
  const state = record.state as LeafState;
  const facts = service.factsFor(record, now);
  const [requirements, detected] = await Promise.all([rules.evaluateRequirements(facts), rules.evaluateDeficiencies(facts)]);
  const editable: string[] = [...(policy.editableFields[state as keyof Policy['editableFields']] ?? [])];
  const context = record.snapshot.context;

  const actions = CALLER_EVENTS.map((event): ActionView => {
    const probe: ClaimEvent = {
      type: event,
      actor: principal,
      at: now.toISOString(),
      payload: {},
      meta: {
        closedEvents: closedEvents(policy, record.deadlines),
        requirements: {
          passed: requirements.passed,
          failed: requirements.results.filter((r) => !r.matched).map((r) => ({ code: r.code, message: r.message })),
        },
      },
    };
    const guard = (name: GuardName) => {
      const input = { context, event: probe, state };
      return machine.guards[name].test(input) ? undefined : machine.guards[name].refusal(input);
    };
    const refusal =
      refusalBeforePayload(machine, record.snapshot, probe) ??
      guard('actorOwnsClaim') ??
      guard('windowOpen') ??
      (event === 'submit' ? guard('requirementsPass') : undefined) ??
      (event === 'dispute' ? guard('disputeLimitNotReached') : undefined) ??
      (event === 'uploadPoe' ? guard('poeWithinLimits') : undefined);
    if (refusal) return { event, allowed: false, reason: refusal.message, code: refusal.code };
    if (event === 'edit' && editable.length === 0) {
      return { event, allowed: false, reason: `Nothing can be edited while the claim is ${state}.`, code: 'fieldNotEditable' };
    }
    if (event === 'removePoe' && context.poe.length === 0) {
      return { event, allowed: false, reason: 'The claim has no PoE document to remove.', code: 'unknownPoe' };
    }
    return { event, allowed: true };
  });

  const outlook: ClaimOutlook = {
    timeZone: policy.calendar.timeZone,
    deadlines: deadlineViews(compiled, record.deadlines, now),
    statusText: statusTextOf([policy, service.policy.policy], state, language),
    actions,
    editableFields: actions.find((a) => a.event === 'edit')?.allowed ? editable : [],
    deficiencies: detected
      .filter((outcome) => outcome.matched)
      .map((outcome) => ({ code: outcome.code, description: policy.deficiencies.find((d) => d.code === outcome.code)?.description ?? outcome.code })),
  };
  const window = disputeWindowOf(compiled, record, now);
  if (window) outlook.disputeWindow = window;
  return outlook;
}

/** While a claim is rejected: whether a deadline that closes `dispute` still runs, and the calendar days after today it has left. */
function disputeWindowOf(compiled: CompiledPolicy, record: ClaimRecord, now: Date): { open: boolean; daysLeft: number } | undefined {
  if (record.state !== 'rejected') return undefined;
  const { policy, calendar } = compiled;
  const closing = record.deadlines.filter((d) => {
    const action = policy.deadlines[d.name]?.onDue;
    return action !== undefined && 'closes' in action && action.closes.includes('dispute');
  });
  const run = closing.at(-1);
  if (!run) return undefined;
  if (run.status !== 'running' || Date.parse(run.dueAt) <= now.getTime()) return { open: false, daysLeft: 0 };
  const daysLeft = Math.max(0, Math.round((Date.parse(run.due) - Date.parse(calendar.localDate(now))) / DAY_MS));
  return { open: true, daysLeft };
}
