/**
 * Stateless evaluation (`POST /v1/evaluate`, `cpor evaluate FILE`): what a policy
 * says about a claim at an instant. Pure; time comes only from `asOf`. One rule
 * engine run per call; everything that depends on the policy alone is built once.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { explainRefusal, sendableEvents, snapshotValueOf, targetOf, type ClaimSnapshot, type SendableEvent } from '../machines/claim-machine';
import { LEAF_STATES, type LeafState } from '../machines/claim-transitions';
import {
  EVENT_TYPES,
  STATE_IDS,
  SUBSTATUSES,
  type ClaimContext,
  type ClaimEvent,
  type ClaimFields,
  type EventMeta,
  type EventType,
  type PoeDocument,
  type StateId,
  type Substatus,
} from '../domain/claim-types';
import { EVENT_PAYLOAD_SCHEMAS, claimFieldsSchema } from '../machines/event-payloads';
import type { Refusal } from '../machines/guards';
import type { ConditionExplanation } from '../rules/evaluate-rules';
import { computeFacts } from '../rules/facts';
import type { Policy } from '../rules/policy-types';
import { InputError, NotFoundError } from '../domain/errors';
import { statusOf } from '../claims/claim-record';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { closedEvents, firedDeadline, overdueNames, trackDeadlines, type DeadlineRecord, type DeadlineStatus } from '../claims/deadline-tracker';
import type { RuleResultCache } from './rule-result-cache';

// ---------------------------------------------------------------------------
// Input

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const instant = { type: 'string', format: 'date-time', maxLength: 64 } as const;

/** JSON Schema (draft-07) of an evaluation request: the HTTP body and the CLI file. */
export const evaluationInputSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Claim evaluation input',
  type: 'object',
  additionalProperties: false,
  required: ['claim', 'asOf'],
  properties: {
    claim: {
      type: 'object',
      additionalProperties: false,
      required: ['fields', 'status'],
      properties: {
        id: { ...text(100), description: 'Claim ID, if the claim exists (recorded in the decision log).' },
        fields: {
          type: 'object',
          additionalProperties: false,
          properties: claimFieldsSchema.properties,
          description: 'Claim fields; a claim being edited may lack some.',
        },
        status: { enum: STATE_IDS, description: '`approved` means approved.consentPending unless `substatus` says otherwise.' },
        substatus: { enum: SUBSTATUSES },
        poe: {
          type: 'array',
          maxItems: 100,
          items: {
            ...EVENT_PAYLOAD_SCHEMAS.uploadPoe,
            required: ['customerSigned', 'products', 'describesWork'],
          },
          description: 'Metadata of the PoE documents uploaded so far.',
        },
        reason: { type: ['string', 'null'], maxLength: 100, description: 'Rejection reason of a rejected claim.' },
        history: {
          type: 'array',
          maxItems: 1000,
          description: 'State changes so far, oldest first: when the claim entered each state. Deadlines are derived from them.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['at', 'to'],
            properties: { at: instant, to: { enum: STATE_IDS } },
          },
        },
      },
    },
    event: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'role'],
      description: 'An event to try now (nothing is applied): the answer says whether it would be allowed and where it leads.',
      properties: {
        type: { enum: EVENT_TYPES },
        role: text(100),
        payload: { type: 'object', description: "The event's payload, as for POST /claims/{id}/actions/{event}." },
        partnerId: text(100),
        tenantId: text(100),
      },
    },
    asOf: { ...instant, description: 'The instant to evaluate at (ISO 8601 with Z or an offset).' },
    policyVersion: { ...text(100), description: 'The policy version to evaluate under; default the one in effect.' },
  },
} as const;

/**
 * What to evaluate: a claim as it stands (and, optionally, an event to try) at `asOf`.
 * `claim.status` is a status or `approved.<substatus>`; `approved` alone is approved.consentPending
 * unless `substatus` says otherwise. `claim.history` lists state changes, oldest first.
 */
export type EvaluationInput = FromSchema<typeof evaluationInputSchema>;

// ---------------------------------------------------------------------------
// Output

type Explained = { explanation: ConditionExplanation; summary: string };

/** One run of a named deadline, as of `asOf`. */
export type EvaluatedDeadline = {
  name: string;
  startedAt: string;
  /** Local due date: the last whole day the party has. */
  due: string;
  /** Instant it falls due. */
  dueAt: string;
  status: DeadlineStatus;
  /** Fired, escalates, and the claim is still in its states: it flags the claim overdue. */
  overdue: boolean;
};

/** What the policy says about a claim at `asOf`. */
export type ClaimEvaluation = {
  policy: { id: string; version: string };
  asOf: string;
  status: string;
  substatus: string | null;
  /** Events possible now, with the roles the policy lets send them (claim ownership aside). */
  allowedEvents: Array<{ event: EventType; roles: string[] }>;
  /** Events some role could send in this state, blocked now (requirementsNotMet, windowClosed). */
  blockedEvents: Array<{ event: EventType; code: string; message: string }>;
  /** Fields an `edit` may change now (empty when no edit is possible). */
  editableFields: string[];
  deficiencies: Array<{ code: string; description: string; found: boolean } & Explained>;
  submissionRequirements: {
    passed: boolean;
    results: Array<{ code: string; message: string; passed: boolean } & Explained>;
  };
  /** Every deadline run derived from the history, those due by `asOf` marked fired (their events are not applied). */
  deadlines: EvaluatedDeadline[];
  /** Names of escalated deadlines the claim is overdue on. */
  overdue: string[];
  eligibility: Array<{ program: string; name: string; eligible: boolean; illustrative: boolean } & Explained>;
  /** What the optional event would do now. */
  event?: {
    type: EventType;
    allowed: boolean;
    refusal?: { code: string; message: string; path?: string };
    /** The state it leads to (the same state for a self-transition). */
    to?: string;
  };
  /** Codes of the rules that matched: requirements met, deficiencies found, programs eligible. */
  rulesFired: string[];
};

// ---------------------------------------------------------------------------
// What depends on the policy alone, built once per compiled policy

interface PreparedPolicy {
  /** Per leaf state: the events some role may send there, and those roles. */
  events: ReadonlyMap<LeafState, readonly SendableEvent[]>;
  deficiencyDescriptions: ReadonlyMap<string, string>;
  programs: ReadonlyMap<string, { name: string; illustrative: boolean }>;
  /** Replayed histories by their entries (`at>to;…`), oldest first. */
  replays: Map<string, ReplayedHistory>;
  /** Local dates (the policy's time zone) by instant in ms, oldest first. */
  localDates: Map<number, string>;
}

const prepared = new WeakMap<CompiledPolicy, PreparedPolicy>();

function prepare(compiled: CompiledPolicy): PreparedPolicy {
  let ready = prepared.get(compiled);
  if (ready) return ready;
  const { policy } = compiled;
  const events = new Map<LeafState, readonly SendableEvent[]>();
  for (const state of LEAF_STATES) events.set(state, sendableEvents(compiled.claim, state));
  ready = {
    events,
    deficiencyDescriptions: new Map(policy.deficiencies.map((d) => [d.code, d.description])),
    programs: new Map(policy.incentivePrograms.map((p) => [p.code, { name: p.name, illustrative: p.illustrative === true }])),
    replays: new Map(),
    localDates: new Map(),
  };
  prepared.set(compiled, ready);
  return ready;
}

// ---------------------------------------------------------------------------
// Evaluation

const isStateId = (status: string): status is StateId => (STATE_IDS as readonly string[]).includes(status);

/** `approved` + substatus → `approved.<substatus>`; refuses a substatus on any other status. */
function leafOf(status: string, substatus: Substatus | undefined, path: string): LeafState {
  // The schema admits only states; a caller that skipped it still hears which.
  if (!isStateId(status)) {
    throw new InputError('invalidStatus', `${path}: "${status}" is not a claim status; use one of ${STATE_IDS.join(', ')}.`, path);
  }
  if (status === 'approved') return `approved.${substatus ?? 'consentPending'}`;
  if (substatus !== undefined && status !== `approved.${substatus}`) {
    throw new InputError(
      'invalidSubstatus',
      `Substatus "${substatus}" does not go with status "${status}": only an approved claim has a substatus.`,
      '$.claim.substatus',
    );
  }
  return status;
}

function parseInstant(value: string, path: string): Date {
  const at = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime()) || !/(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    throw new InputError('invalidInstant', `${path}: ${JSON.stringify(value)} is not an ISO 8601 instant with Z or an offset.`, path);
  }
  return at;
}

/** Marks running deadlines due at or before `until` as fired, as the service would, without applying their events. */
function markDue(policy: Policy, deadlines: readonly DeadlineRecord[], until: number): readonly DeadlineRecord[] {
  let changed: DeadlineRecord[] | undefined;
  for (let i = 0; i < deadlines.length; i++) {
    const d = deadlines[i]!;
    if (d.status !== 'running' || Date.parse(d.dueAt) > until) continue;
    changed ??= [...deadlines];
    changed[i] = firedDeadline(policy, d);
  }
  return changed ?? deadlines;
}

/** A replayed history's deadlines at `until`: its running ones' instants and fired records are worked out once per replay. */
function dueBy(policy: Policy, replayed: ReplayedHistory, until: number): readonly DeadlineRecord[] {
  const { deadlines } = replayed;
  replayed.firings ??= deadlines.map((d) => (d.status === 'running' ? { dueAt: Date.parse(d.dueAt), fired: firedDeadline(policy, d) } : null));
  let changed: DeadlineRecord[] | undefined;
  for (let i = 0; i < deadlines.length; i++) {
    const firing = replayed.firings[i];
    if (!firing || firing.dueAt > until) continue;
    changed ??= [...deadlines];
    changed[i] = firing.fired;
  }
  return changed ?? deadlines;
}

/** The deadlines of a history as of its last entry; they depend on the policy and the history alone. */
interface ReplayedHistory {
  deadlines: readonly DeadlineRecord[];
  last: LeafState;
  lastAt: number;
  /** Per deadline, when running: the instant it falls due and its record once fired (dueBy). */
  firings?: Array<{ dueAt: number; fired: DeadlineRecord } | null>;
}

/** Replayed histories and local dates kept per policy (a claim is evaluated again and again); beyond this the oldest go. */
const MEMO_LIMIT = 8192;

/** `key`'s value in `memo`, or `make()`'s, kept (the oldest entry dropped past MEMO_LIMIT). */
function remembered<K, V>(memo: Map<K, V>, key: K, make: () => V): V {
  let value = memo.get(key);
  if (value === undefined) {
    value = make();
    if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value!);
    memo.set(key, value);
  }
  return value;
}

/** Replays the history's state changes through the deadline tracker, firing what falls due between them. */
function replayHistory(compiled: CompiledPolicy, history: NonNullable<EvaluationInput['claim']['history']>): ReplayedHistory {
  const { policy, calendar } = compiled;
  let deadlines: readonly DeadlineRecord[] = [];
  let from: LeafState = 'new';
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < history.length; i++) {
    const entry = history[i]!;
    const at = parseInstant(entry.at, `$.claim.history[${i}].at`);
    if (at.getTime() < previous) {
      throw new InputError(
        'historyOutOfOrder',
        `$.claim.history[${i}] is earlier than the entry before it; give the history oldest first.`,
        `$.claim.history[${i}].at`,
      );
    }
    previous = at.getTime();
    const to = leafOf(entry.to, undefined, `$.claim.history[${i}].to`);
    deadlines = trackDeadlines(policy, calendar, markDue(policy, deadlines, previous), from, to, at);
    from = to;
  }
  return { deadlines, last: from, lastAt: previous };
}

/** The claim's deadlines at `asOf`: the history replayed, then what is due by `asOf` fired. */
function deadlinesOf(
  compiled: CompiledPolicy,
  ready: PreparedPolicy,
  input: EvaluationInput,
  state: LeafState,
  asOf: Date,
): readonly DeadlineRecord[] {
  const history = input.claim.history ?? [];
  if (history.length === 0) return [];
  let key = '';
  for (const entry of history) key += `${entry.at}>${entry.to};`;
  const replayed = remembered(ready.replays, key, () => replayHistory(compiled, history));
  if (replayed.lastAt > asOf.getTime()) {
    const index = history.findIndex((entry) => Date.parse(entry.at) > asOf.getTime());
    throw new InputError('historyAfterAsOf', `$.claim.history[${index}] is after asOf (${input.asOf}).`, `$.claim.history[${index}].at`);
  }
  // `approved` in a history is approved.consentPending; the consent window's firing moves the claim on by itself.
  if (replayed.last !== state && !(replayed.last === 'approved.consentPending' && state === 'approved.sentForAssessment')) {
    throw new InputError(
      'historyMismatch',
      `The history ends in ${replayed.last}, but the claim is ${state}; its last entry must be the change into the current state.`,
      `$.claim.history[${history.length - 1}].to`,
    );
  }
  return dueBy(compiled.policy, replayed, asOf.getTime());
}

const publicRefusal = (refusal: Refusal) =>
  refusal.path === undefined
    ? { code: refusal.code, message: refusal.message }
    : { code: refusal.code, message: refusal.message, path: refusal.path };

export interface EvaluateOptions {
  /** Rule results by facts digest (EVALUATION_CACHE_SIZE); without it every call runs the rules. */
  cache?: RuleResultCache;
  /** Each rule's explanation and summary in the answer (default true); false: the decision only, and no explanation is worked out. */
  explain?: boolean;
}

/**
 * Evaluates a claim under a compiled policy at `input.asOf`: allowed and blocked
 * events, editable fields, PoE deficiencies, submission requirements, deadlines,
 * incentive eligibility, each rule with its explanation; and what an optional
 * event would do. Nothing is applied, and the input is not changed.
 * @throws InputError on an inconsistent input (bad instant, history out of order,
 *   history not ending in the claim's status); NotFoundError on another policy version.
 */
export async function evaluateClaim(compiled: CompiledPolicy, input: EvaluationInput, options?: EvaluateOptions & { explain?: true }): Promise<ClaimEvaluation>;
export async function evaluateClaim(compiled: CompiledPolicy, input: EvaluationInput, options: EvaluateOptions & { explain: false }): Promise<DecisionOnlyEvaluation>;
export async function evaluateClaim(compiled: CompiledPolicy, input: EvaluationInput, options: EvaluateOptions): Promise<ClaimEvaluation | DecisionOnlyEvaluation>;
export async function evaluateClaim(
  compiled: CompiledPolicy,
  input: EvaluationInput,
  options: EvaluateOptions = {},
): Promise<ClaimEvaluation | DecisionOnlyEvaluation> {
  const explained = options.explain !== false;
  const { policy, calendar, claim: machine, rules } = compiled;
  if (input.policyVersion !== undefined && input.policyVersion !== policy.version) {
    throw new NotFoundError(
      'unknownPolicyVersion',
      `Policy ${policy.id} version ${input.policyVersion} is not loaded; this service evaluates under ${policy.version}.`,
    );
  }
  const ready = prepare(compiled);
  const asOf = parseInstant(input.asOf, '$.asOf');
  const state = leafOf(input.claim.status, input.claim.substatus, '$.claim.status');
  const { status, substatus } = statusOf(state);
  const fields = input.claim.fields ?? {};
  // computeFacts and the guards read only the metadata the input carries.
  const poe = (input.claim.poe ?? []) as PoeDocument[];

  const deadlines = deadlinesOf(compiled, ready, input, state, asOf);
  const closed: Partial<Record<EventType, string>> = closedEvents(policy, deadlines);

  const asOfDate = remembered(ready.localDates, asOf.getTime(), () => calendar.localDate(asOf));
  const facts = computeFacts({ fields, poe, status, asOfDate });
  const outcomes = options.cache ? await options.cache.evaluate(compiled, facts) : await rules.evaluate(facts);
  const requirements: EventMeta['requirements'] = {
    passed: outcomes.requirements.passed,
    failed: outcomes.requirements.results.filter((r) => !r.matched).map((r) => ({ code: r.code, message: r.message })),
  };

  const context: ClaimContext = {
    id: input.claim.id ?? '',
    fields: fields as ClaimFields,
    poe,
    reason: input.claim.reason ?? null,
    requestedDeficiencies: [],
    disputes: [],
  };
  const meta: EventMeta = { closedEvents: closed };
  const submitMeta: EventMeta = { closedEvents: closed, requirements };

  const evaluationAt = asOf.toISOString();
  const allowedEvents: ClaimEvaluation['allowedEvents'] = [];
  const blockedEvents: ClaimEvaluation['blockedEvents'] = [];
  for (const { event, roles } of ready.events.get(state) ?? []) {
    // The guards that hold for every sender; their own refusals word the reason, as the machine would.
    const blockedBy =
      closed[event] !== undefined ? 'windowOpen' : event === 'submit' && !requirements.passed ? 'requirementsPass' : undefined;
    const refusal = blockedBy
      ? machine.guards[blockedBy].refusal({
          context,
          event: { type: event, actor: { role: roles[0]! }, at: evaluationAt, payload: {}, meta: submitMeta },
          state,
        })
      : undefined;
    if (refusal) blockedEvents.push({ event, code: refusal.code, message: refusal.message });
    else allowedEvents.push({ event, roles: [...roles] });
  }
  const editableFields = allowedEvents.some((e) => e.event === 'edit')
    ? [...(policy.editableFields[state as StateId] ?? [])]
    : [];

  const rulesFired: string[] = [];
  const submissionRequirements = {
    passed: outcomes.requirements.passed,
    results: outcomes.requirements.results.map((r) => {
      if (r.matched) rulesFired.push(r.code);
      const verdict = { code: r.code, message: r.message, passed: r.matched };
      return explained ? { ...verdict, explanation: r.explanation, summary: r.summary } : verdict;
    }),
  };
  const deficiencies = outcomes.deficiencies.map((d) => {
    if (d.matched) rulesFired.push(d.code);
    const verdict = { code: d.code, description: ready.deficiencyDescriptions.get(d.code) ?? '', found: d.matched };
    return explained ? { ...verdict, explanation: d.explanation, summary: d.summary } : verdict;
  });
  const eligibility = outcomes.eligibility.map((e) => {
    if (e.matched) rulesFired.push(e.code);
    const program = ready.programs.get(e.code);
    const verdict = { program: e.code, name: program?.name ?? e.code, eligible: e.matched, illustrative: program?.illustrative ?? false };
    return explained ? { ...verdict, explanation: e.explanation, summary: e.summary } : verdict;
  });

  // The rule lists hold explanations exactly when `explained` (the overloads above say which shape).
  const evaluation: ClaimEvaluation | DecisionOnlyEvaluation = {
    policy: { id: policy.id, version: policy.version },
    asOf: evaluationAt,
    status,
    substatus,
    allowedEvents,
    blockedEvents,
    editableFields,
    deficiencies: deficiencies as ClaimEvaluation['deficiencies'],
    submissionRequirements: submissionRequirements as ClaimEvaluation['submissionRequirements'],
    deadlines: deadlines.map((d) => ({
      name: d.name,
      startedAt: d.startedAt,
      due: d.due,
      dueAt: d.dueAt,
      status: d.status,
      overdue: d.lapsed && policy.deadlines[d.name] !== undefined && 'escalate' in policy.deadlines[d.name]!.onDue,
    })),
    overdue: overdueNames(policy, deadlines),
    eligibility: eligibility as ClaimEvaluation['eligibility'],
    rulesFired,
  };

  if (input.event) {
    const { type, role, payload = {}, partnerId, tenantId } = input.event;
    const event: ClaimEvent = {
      type,
      actor: { role, ...(partnerId !== undefined ? { partnerId } : {}), ...(tenantId !== undefined ? { tenantId } : {}) },
      at: evaluation.asOf,
      payload,
      meta: type === 'submit' ? submitMeta : meta,
    };
    const snapshot: ClaimSnapshot = { value: snapshotValueOf(state), context };
    const refusal = explainRefusal(machine, snapshot, event);
    evaluation.event = refusal
      ? { type, allowed: false, refusal: publicRefusal(refusal) }
      : { type, allowed: true, to: targetOf(machine, snapshot, event) };
  }
  return evaluation;
}

/** An evaluation without the rules' explanations and summaries: the decision-only answer. */
export type DecisionOnlyEvaluation = Omit<ClaimEvaluation, 'deficiencies' | 'submissionRequirements' | 'eligibility'> & {
  deficiencies: Array<Omit<ClaimEvaluation['deficiencies'][number], keyof Explained>>;
  submissionRequirements: { passed: boolean; results: Array<Omit<ClaimEvaluation['submissionRequirements']['results'][number], keyof Explained>> };
  eligibility: Array<Omit<ClaimEvaluation['eligibility'][number], keyof Explained>>;
};
