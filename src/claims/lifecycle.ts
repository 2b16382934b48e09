/**
 * The claim lifecycle's pure core: one event applied to a claim record, and the
 * deadlines due by an instant fired, each returning the next record, the history
 * entries and the decision records. No store, no clock, no id generator: the
 * instant is the event's (or `until`), ids come in the event's meta. The claim
 * service is load → core → save around it; simulation and backtest run through it.
 */
import { initialSnapshot, stepClaim, type ClaimSnapshot } from '../machines/claim-machine';
import type { ClaimEvent, EventMeta } from '../domain/claim-types';
import type { LeafState } from '../machines/claim-transitions';
import type { Refusal } from '../machines/guards';
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { RuleEvaluation, RuleSet } from '../rules/evaluate-rules';
import { computeFacts, type Facts } from '../rules/facts';
import { SYSTEM_ROLE } from '../rules/policy-types';
import { statusOf, type ClaimRecord, type HistoryEntry } from './claim-record';
import { digestInput, type DecisionRecord } from './decision-digest';
import { sealEntry } from './history-chain';
import { closedEvents, dueDeadlines, firedDeadline, nextDueAt, overdueNames, trackDeadlines, type DeadlineRecord } from './deadline-tracker';

/** Ids and file facts the service generated for an event, kept so a replay reproduces them. */
export interface HistoryRefs {
  claimId?: string;
  poeId?: string;
  file?: EventMeta['file'];
}

/** Each result carries its decision-log record: applied or refused, every event is logged. */
export type Applied =
  | { ok: true; record: ClaimRecord; entry: HistoryEntry; decision: DecisionRecord }
  | { ok: false; refusal: Refusal; decision: DecisionRecord };

/**
 * How the core runs (default: everything a stored transition needs). A backtest's replay
 * asks for the verdict only: the record's state, deadlines, deficiencies and assessment
 * verdicts, without the sealed history entry (the record's lastHash stays as it was), the
 * decision record, or an assessment's explanation text (its summaries are empty).
 */
export interface CoreOptions {
  verdictOnly?: boolean;
  /** The policy's rule results for these facts (default: the policy's rule set runs for each step); where a cache goes. */
  evaluateRules?: (compiled: CompiledPolicy, facts: Facts) => Promise<RuleEvaluation>;
}

type StepRules = Pick<RuleSet, 'evaluateRequirements' | 'evaluateDeficiencies' | 'evaluateEligibility'>;

/** The policy's rule set, or one that reads each kind of verdict from `evaluateRules` (a cache's whole evaluation). */
function ruleSetOf(compiled: CompiledPolicy, evaluateRules: CoreOptions['evaluateRules']): StepRules {
  if (!evaluateRules) return compiled.rules;
  return {
    evaluateRequirements: async (facts) => (await evaluateRules(compiled, facts)).requirements,
    evaluateDeficiencies: async (facts) => (await evaluateRules(compiled, facts)).deficiencies,
    evaluateEligibility: async (facts) => (await evaluateRules(compiled, facts)).eligibility,
  };
}

/** A verdict-only step: the next record, or the refusal. */
export type Verdict = { ok: true; record: ClaimRecord } | { ok: false; refusal: Refusal };

/** What a transition's decision record is built from. */
interface TransitionFacts {
  claimId: string | null;
  at: string;
  policy: { id: string; version: string };
  /** The history entry's event (`<deadline>Due` for a deadline) and payload. */
  event: string;
  actor: { role: string; id?: string };
  payload: Record<string, unknown>;
  /** The claim before the step (null: not created yet). */
  before: ClaimRecord | null;
  from: LeafState;
  to: LeafState;
  refusal?: Refusal;
  rulesFired: string[];
}

/**
 * The decision record of a transition, applied or refused. The digest covers what
 * decided it: event, role, payload, and the claim version and chain head it met.
 */
function transitionDecision(facts: TransitionFacts): DecisionRecord {
  const { before } = facts;
  return {
    claimId: facts.claimId,
    at: facts.at,
    kind: 'transition',
    author: { role: facts.actor.role, id: facts.actor.id ?? null },
    policy: { id: facts.policy.id, version: facts.policy.version },
    inputDigest: digestInput({
      event: facts.event,
      actor: { role: facts.actor.role },
      payload: facts.payload,
      claimVersion: before?.version ?? 0,
      lastHash: before?.lastHash ?? null,
    }),
    result: {
      event: facts.event,
      from: facts.from === 'new' ? null : facts.from,
      to: facts.to === 'new' ? null : facts.to,
      ...(facts.refusal ? { refused: { code: facts.refusal.code } } : {}),
    },
    rulesFired: facts.rulesFired,
  };
}

/** One event applied to a record: its inputs and what came of it (what a shadow version is evaluated on). */
export interface AppliedStep {
  /** The record the event met (null: a create). */
  before: ClaimRecord | null;
  event: ClaimEvent;
  /** The history entry's event and payload when it is not the event itself (a deadline's `<name>Due`). */
  entry?: { event: string; payload: Record<string, unknown> };
  applied: Applied;
}

/** What firing deadlines produced: the record after them, their entries and decision records. */
export interface Fired {
  record: ClaimRecord;
  entries: HistoryEntry[];
  decisions: DecisionRecord[];
  /** The events deadlines sent, as they were applied. */
  sent: AppliedStep[];
}

/** The facts the policy's rules see for a claim's snapshot in `state` at an instant. */
export function claimFacts(compiled: CompiledPolicy, snapshot: ClaimSnapshot, state: LeafState, at: Date): Facts {
  return computeFacts({
    fields: snapshot.context.fields,
    poe: snapshot.context.poe,
    status: state === 'new' ? 'editing' : statusOf(state).status,
    asOfDate: compiled.calendar.localDate(at),
  });
}

/**
 * Steps one event on a record (null: not created yet) under `compiled`, at the event's
 * own instant, and derives everything that follows from it: deadlines, deficiencies,
 * eligibility, the sealed history entry and the decision record. Ids come in the
 * event's meta (`claimId`, `poeId`); nothing is read or written.
 * `entry` names the history entry when it is not the event itself (a deadline's `<name>Due`).
 */
export function applyEvent(
  compiled: CompiledPolicy,
  record: ClaimRecord | null,
  event: ClaimEvent,
  entry?: { event: string; payload: Record<string, unknown> },
  options?: CoreOptions & { verdictOnly?: false },
): Promise<Applied>;
export function applyEvent(
  compiled: CompiledPolicy,
  record: ClaimRecord | null,
  event: ClaimEvent,
  entry: { event: string; payload: Record<string, unknown> } | undefined,
  options: CoreOptions & { verdictOnly: true },
): Promise<Verdict>;
export async function applyEvent(
  compiled: CompiledPolicy,
  record: ClaimRecord | null,
  event: ClaimEvent,
  entry: { event: string; payload: Record<string, unknown> } = { event: event.type, payload: event.payload },
  options: CoreOptions = {},
): Promise<Applied | Verdict> {
  const { verdictOnly = false, evaluateRules } = options;
  const at = new Date(event.at);
  const { event: entryEvent, payload: entryPayload } = entry;
  const { policy, calendar, claim: machine } = compiled;
  const rules = ruleSetOf(compiled, evaluateRules);
  const snapshot = record?.snapshot ?? initialSnapshot(machine);
  const meta: EventMeta = { ...event.meta };
  if (record) meta.closedEvents = closedEvents(policy, record.deadlines);
  // Rule outcomes of this step, for its decision record (prefixed by kind).
  const requirementsMet: string[] = [];
  if (event.type === 'submit') {
    const before = claimFacts(compiled, snapshot, record?.state ?? 'new', at);
    const requirements = await rules.evaluateRequirements(before);
    meta.requirements = {
      passed: requirements.passed,
      failed: requirements.results.filter((r) => !r.matched).map((r) => ({ code: r.code, message: r.message })),
    };
    for (const r of requirements.results) if (r.matched) requirementsMet.push(`requirement:${r.code}`);
  }
  const decided = (from: LeafState, to: LeafState, rulesFired: string[], refusal?: Refusal) =>
    transitionDecision({
      claimId: record?.id ?? null,
      at: event.at,
      policy,
      event: entryEvent,
      actor: event.actor,
      payload: entryPayload,
      before: record,
      from,
      to,
      ...(refusal ? { refusal } : {}),
      rulesFired,
    });
  const step = stepClaim(machine, snapshot, { ...event, meta });
  if (!step.ok) {
    if (verdictOnly) return { ok: false, refusal: step.refusal };
    const state = record?.state ?? 'new';
    return { ok: false, refusal: step.refusal, decision: decided(state, state, requirementsMet, step.refusal) };
  }

  const deadlines = trackDeadlines(policy, calendar, record?.deadlines ?? [], step.from, step.to, at);
  const facts = claimFacts(compiled, step.snapshot, step.to, at);
  const deficiencies = (await rules.evaluateDeficiencies(facts)).filter((d) => d.matched).map((d) => d.code);
  let assessment = record?.assessment ?? null;
  const eligible: string[] = [];
  if (step.to === 'approved.sentForAssessment' && step.from !== step.to) {
    const eligibility = await rules.evaluateEligibility(facts);
    assessment = {
      at: event.at,
      programs: eligibility.map((e) => ({ code: e.code, eligible: e.matched, summary: verdictOnly ? '' : e.summary })),
    };
    for (const e of eligibility) if (e.matched) eligible.push(`eligible:${e.code}`);
  }
  const id = step.snapshot.context.id;
  const next: ClaimRecord = {
    id,
    version: record?.version ?? 0,
    policy: record?.policyPinned ? record.policy : { id: policy.id, version: policy.version },
    // Submission pins the version in effect then: the claim follows it from now on.
    policyPinned: (record?.policyPinned ?? false) || (step.from === 'editing' && step.to === 'submitted'),
    createdAt: record?.createdAt ?? event.at,
    updatedAt: event.at,
    state: step.to,
    ...statusOf(step.to),
    reason: step.snapshot.context.reason,
    snapshot: step.snapshot,
    deadlines,
    overdue: overdueNames(policy, deadlines),
    deficiencies,
    nextDueAt: nextDueAt(deadlines),
    assessment,
    lastSeq: (record?.lastSeq ?? 0) + 1,
    lastHash: record?.lastHash ?? null,
  };
  if (verdictOnly) return { ok: true, record: next };
  const refs: HistoryRefs = {};
  if (event.type === 'create') refs.claimId = id;
  if (event.meta?.poeId) refs.poeId = event.meta.poeId;
  if (event.meta?.file) refs.file = event.meta.file;
  const sealed = sealEntry(
    {
      claimId: id,
      seq: next.lastSeq,
      at: event.at,
      actor: event.actor,
      event: entryEvent,
      payload: entryPayload,
      from: step.from,
      to: step.to,
      policy: next.policy,
      ...(Object.keys(refs).length ? { refs } : {}),
    },
    next.lastHash,
  );
  next.lastHash = sealed.hash;
  const rulesFired = [...deficiencies.map((code) => `deficiency:${code}`), ...requirementsMet, ...eligible];
  const decision = { ...decided(step.from, step.to, rulesFired), claimId: id };
  return { ok: true, record: next, entry: sealed, decision };
}

/**
 * Fires the record's deadlines due at or before `until`, each at its own due instant
 * under the policy version `policyFor` gives for the claim then: a deadline that sends
 * an event applies it (applyEvent), the others append an entry that moves no state.
 */
export function fireDeadlines(
  policyFor: (record: ClaimRecord, at: Date) => CompiledPolicy,
  record: ClaimRecord,
  until: Date,
  options?: CoreOptions & { verdictOnly?: false },
): Promise<Fired>;
export function fireDeadlines(
  policyFor: (record: ClaimRecord, at: Date) => CompiledPolicy,
  record: ClaimRecord,
  until: Date,
  options: CoreOptions & { verdictOnly: true },
): Promise<{ record: ClaimRecord }>;
export async function fireDeadlines(
  policyFor: (record: ClaimRecord, at: Date) => CompiledPolicy,
  record: ClaimRecord,
  until: Date,
  options: CoreOptions = {},
): Promise<Fired | { record: ClaimRecord }> {
  const entries: HistoryEntry[] = [];
  const decisions: DecisionRecord[] = [];
  const sent: AppliedStep[] = [];
  for (;;) {
    const [deadline] = dueDeadlines(record.deadlines, until);
    if (!deadline) break;
    const compiled = policyFor(record, new Date(deadline.dueAt));
    const { policy } = compiled;
    const action = policy.deadlines[deadline.name]?.onDue ?? { escalate: true as const };
    const fired = firedDeadline(policy, deadline);
    const deadlines = record.deadlines.map((d) => (d.id === deadline.id ? fired : d));
    const withFired: ClaimRecord = {
      ...record,
      deadlines,
      overdue: overdueNames(policy, deadlines),
      nextDueAt: nextDueAt(deadlines),
    };
    const entryEvent = `${deadline.name}Due`;
    if ('send' in action) {
      const payload = { ...(action.with ?? {}) };
      const event: ClaimEvent = { type: action.send, actor: { role: SYSTEM_ROLE }, at: deadline.dueAt, payload };
      const entry = { event: entryEvent, payload: { deadline: deadline.name, send: action.send, with: payload } };
      if (options.verdictOnly) {
        const verdict = await applyEvent(compiled, withFired, event, entry, { ...options, verdictOnly: true });
        // As below: a refused event spends the deadline (its entry, unsealed here, only counts).
        record = verdict.ok ? verdict.record : { ...withFired, lastSeq: withFired.lastSeq + 1 };
        continue;
      }
      const applied = await applyEvent(compiled, withFired, event, entry, options as CoreOptions & { verdictOnly?: false });
      decisions.push(applied.decision);
      sent.push({ before: withFired, event, entry, applied });
      if (applied.ok) {
        record = applied.record;
        entries.push(applied.entry);
        continue;
      }
      // The policy linter keeps this from happening; if it does, the deadline is spent and says why.
      record = appendSystemEntry(withFired, deadline, entries, entryEvent, {
        deadline: deadline.name,
        send: action.send,
        refused: { code: applied.refusal.code, message: applied.refusal.message },
      });
      continue;
    }
    if (options.verdictOnly) {
      record = { ...withFired, updatedAt: deadline.dueAt, lastSeq: withFired.lastSeq + 1 };
      continue;
    }
    const payload = { deadline: deadline.name, ...('closes' in action ? { closes: action.closes } : { escalate: true }) };
    decisions.push(
      transitionDecision({
        claimId: record.id,
        at: deadline.dueAt,
        policy,
        event: entryEvent,
        actor: { role: SYSTEM_ROLE },
        payload,
        before: record,
        from: record.state,
        to: record.state,
        rulesFired: [],
      }),
    );
    record = appendSystemEntry({ ...withFired, updatedAt: deadline.dueAt }, deadline, entries, entryEvent, payload);
  }
  return { record, entries, decisions, sent };
}

/** Appends a deadline's entry that moves no state; returns the record with the chain's new head. */
function appendSystemEntry(
  record: ClaimRecord,
  deadline: DeadlineRecord,
  entries: HistoryEntry[],
  event: string,
  payload: Record<string, unknown>,
): ClaimRecord {
  const entry = sealEntry(
    {
      claimId: record.id,
      seq: record.lastSeq + 1,
      at: deadline.dueAt,
      actor: { role: SYSTEM_ROLE },
      event,
      payload,
      from: record.state,
      to: record.state,
      policy: record.policy,
    },
    record.lastHash,
  );
  entries.push(entry);
  return { ...record, lastSeq: entry.seq, lastHash: entry.hash };
}

