/**
 * The claim lifecycle as an XState v5 machine, generated from the transition
 * table and stepped with the pure `transition()`. Guards ask the policy; the
 * snapshot (state value + context) is plain JSON.
 */
import { and, assertEvent, assign, createActor, initialTransition, setup, type AnyActorScope } from 'xstate';
import type { Policy } from '../rules/policy-types';
import {
  EVENT_TYPES,
  type ClaimContext,
  type ClaimEvent,
  type ClaimFields,
  type DisputeRecord,
  type EventType,
  type PoeDocument,
} from '../domain/claim-types';
import { LEAF_STATES, TRANSITIONS, type ActionName, type GuardName, type LeafState, type TransitionRow } from './claim-transitions';
import { createGuards, type Refusal } from './guards';
import { isValidEvent, validatePayload, type ValidEvent } from './event-payloads';

/** A claim's machine state, as stored: plain JSON. */
export interface ClaimSnapshot {
  value: string | { approved: string };
  context: ClaimContext;
}

export const EMPTY_CONTEXT: ClaimContext = {
  id: '',
  fields: {} as ClaimFields,
  poe: [],
  reason: null,
  requestedDeficiencies: [],
  disputes: [],
};

type GuardParams = { state: LeafState };

/** What the machine's actions read: the claim, and an event its schema admitted (`stepClaim` validates first). */
type ActionArgs = { context: ClaimContext; event: ValidEvent };

const by = (event: ValidEvent) => event.actor.id ?? event.actor.role;

/** The context changes of each action, by name; each asserts the events it is written for. */
const ACTION_UPDATES: Record<ActionName, (args: ActionArgs) => Partial<ClaimContext>> = {
  initializeClaim: ({ event }) => {
    assertEvent(event, 'create');
    return { id: event.meta?.claimId ?? '', fields: { ...event.payload, products: event.payload.products ?? [] } };
  },
  applyEdit: ({ context, event }) => {
    assertEvent(event, 'edit');
    return { fields: { ...context.fields, ...event.payload } };
  },
  addPoe: ({ context, event }) => {
    assertEvent(event, 'uploadPoe');
    const document: PoeDocument = {
      id: event.meta?.poeId ?? `poe-${context.poe.length + 1}`,
      ...event.payload,
      uploadedAt: event.at,
      uploadedBy: by(event),
      ...(event.meta?.file ?? {}),
    };
    return { poe: [...context.poe, document] };
  },
  removePoe: ({ context, event }) => {
    assertEvent(event, 'removePoe');
    const { poeId, comment } = event.payload;
    const removed = context.poe.find((d) => d.id === poeId)!;
    return {
      poe: context.poe.filter((d) => d.id !== poeId),
      removedPoe: [...(context.removedPoe ?? []), { ...removed, removedAt: event.at, removedBy: by(event), ...(comment ? { comment } : {}) }],
    };
  },
  recordRequest: ({ event }) => {
    assertEvent(event, 'requestInfo');
    return { requestedDeficiencies: [...event.payload.deficiencies] };
  },
  setRejectReason: ({ event }) => {
    assertEvent(event, 'reject');
    return { reason: event.payload.reason };
  },
  setWithdrawReason: () => ({ reason: 'partnerRequest' }),
  setDeclineReason: () => ({ reason: 'customerDecline' }),
  clearReason: () => ({ reason: null }),
  recordDispute: ({ context, event }) => {
    assertEvent(event, 'dispute');
    const { program, details } = event.payload;
    const { mpnId, customer, products } = context.fields;
    const dispute: DisputeRecord = { program, details, raisedAt: event.at, raisedBy: by(event), claimId: context.id, mpnId, tenantId: customer.tenantId, products };
    return { disputes: [...context.disputes, dispute] };
  },
  recordResolution: ({ context, event }) => {
    assertEvent(event, 'resolveDispute');
    const resolution = { ...event.payload, at: event.at, by: by(event) };
    return { disputes: context.disputes.map((d, i) => (i === context.disputes.length - 1 ? { ...d, resolution } : d)) };
  },
};

const stateNodeId = (leaf: LeafState) => `#claim.${leaf}`;

/** Builds the claim machine for one policy (build once per loaded policy). */
export function createClaimMachine(policy: Policy) {
  const guards = createGuards(policy);
  const machineSetup = setup({
    types: {} as { context: ClaimContext; events: ValidEvent },
    guards: mapRecord(guards, (guard) => ({ context, event }: ActionArgs, params: GuardParams) => guard.test({ context, event, state: params.state })),
    actions: mapRecord(ACTION_UPDATES, (update) => assign<ClaimContext, ValidEvent, undefined, ValidEvent, never>(update)),
  });

  const guardsOf = (row: TransitionRow, leaf: LeafState) =>
    and<ClaimContext, ValidEvent, Array<{ type: GuardName; params: GuardParams }>>(row.guards.map((type) => ({ type, params: { state: leaf } })));
  const handlersFor = (leaf: LeafState) => {
    const on: Partial<Record<EventType, Array<{ target?: string; guard: ReturnType<typeof guardsOf>; actions: ActionName[] }>>> = {};
    for (const row of TRANSITIONS) {
      if (!row.from.includes(leaf)) continue;
      (on[row.event] ??= []).push({
        ...(row.to ? { target: stateNodeId(row.to) } : {}),
        guard: guardsOf(row, leaf),
        actions: [...row.actions],
      });
    }
    return on;
  };
  const leaf = (name: LeafState) => ({ id: name, on: handlersFor(name) });

  const machine = machineSetup.createMachine({
    id: 'claim',
    context: EMPTY_CONTEXT,
    initial: 'new',
    states: {
      new: leaf('new'),
      editing: leaf('editing'),
      submitted: leaf('submitted'),
      underReview: leaf('underReview'),
      partnerActionRequired: leaf('partnerActionRequired'),
      approved: {
        initial: 'consentPending',
        states: {
          consentPending: leaf('approved.consentPending'),
          sentForAssessment: leaf('approved.sentForAssessment'),
        },
      },
      rejected: leaf('rejected'),
      disputed: leaf('disputed'),
    },
  });
  return { machine, guards, policy, scope: inertScope(machine) };
}

/**
 * The actor scope the machine is stepped in, built once per machine: what xstate's
 * `transition()` builds afresh (an inert actor, with its initial snapshot) on every call.
 * Inert: it runs, defers, emits and spawns nothing (the machine's actions are all `assign`,
 * which xstate applies to the context itself), so one scope serves every step.
 */
function inertScope(machine: Parameters<typeof createActor>[0]): AnyActorScope {
  const self = createActor(machine);
  return {
    self,
    id: '',
    sessionId: '',
    logger: () => {},
    defer: () => {},
    emit: () => {},
    system: self.system,
    stopChild: () => {},
    actionExecutor: () => {},
  };
}

/** The same keys, each value mapped. */
function mapRecord<K extends string, A, B>(record: Record<K, A>, map: (value: A) => B): Record<K, B> {
  return Object.fromEntries(Object.entries<A>(record).map(([key, value]) => [key, map(value)])) as Record<K, B>;
}

export type ClaimMachine = ReturnType<typeof createClaimMachine>;

/** `{ approved: 'consentPending' }` → `approved.consentPending`. */
export function leafStateOf(value: ClaimSnapshot['value']): LeafState {
  const id = typeof value === 'string' ? value : `approved.${value.approved}`;
  if (!isLeafState(id)) throw new Error(`unknown claim state ${JSON.stringify(value)}`);
  return id;
}

const isLeafState = (id: string): id is LeafState => (LEAF_STATES as readonly string[]).includes(id);

/** `approved.consentPending` → `{ approved: 'consentPending' }`: the state value a snapshot holds. */
export function snapshotValueOf(leaf: LeafState): ClaimSnapshot['value'] {
  return leaf.startsWith('approved.') ? { approved: leaf.slice('approved.'.length) } : leaf;
}

/** The snapshot of a claim not yet created. */
export function initialSnapshot(claim: ClaimMachine): ClaimSnapshot {
  const [snapshot] = initialTransition(claim.machine);
  return toClaimSnapshot(snapshot);
}

function toClaimSnapshot(snapshot: { value: unknown; context: unknown }): ClaimSnapshot {
  // Round-trip through JSON: the stored form is exactly what the next step reads.
  return JSON.parse(JSON.stringify({ value: snapshot.value, context: snapshot.context })) as ClaimSnapshot;
}

export type StepResult =
  | { ok: true; snapshot: ClaimSnapshot; from: LeafState; to: LeafState }
  | { ok: false; refusal: Refusal; from: LeafState };

/**
 * Steps a claim with one event: validates the payload, then asks the machine.
 * A refused event leaves the snapshot as it was and says why.
 */
export function stepClaim(claim: ClaimMachine, current: ClaimSnapshot, event: ClaimEvent): StepResult {
  const from = leafStateOf(current.value);
  const refusal = explainRefusal(claim, current, event);
  if (refusal) return { ok: false, refusal, from };
  // Narrows the payload's type for the actions (the check above validated it already; cheap).
  if (!isValidEvent(event)) throw new Error(`explainRefusal admitted an invalid ${event.type} payload`);
  const resolved = claim.machine.resolveState({ value: current.value, context: current.context });
  const next = claim.machine.transition(resolved, event, claim.scope);
  // No action ran (the context is the one it met, already in its stored form): only the state moved.
  const snapshot =
    next.context === current.context ? { value: snapshotValueOf(leafStateOf(next.value as ClaimSnapshot['value'])), context: current.context } : toClaimSnapshot(next);
  return { ok: true, snapshot, from, to: leafStateOf(snapshot.value) };
}

/**
 * Why the machine would refuse `event` now, or undefined when it would take it.
 * Checks in order: payload, role, state, then each row's guards.
 */
export function explainRefusal(claim: ClaimMachine, current: ClaimSnapshot, event: ClaimEvent): Refusal | undefined {
  if (rowsOf(event.type).length === 0) {
    return { code: 'unknownEvent', kind: 'input', message: `Unknown event "${event.type}".` };
  }
  const issue = validatePayload(event.type, event.payload);
  if (issue) {
    return { code: 'invalidPayload', kind: 'input', path: issue.path, message: `${issue.path}: ${issue.message}` };
  }
  const early = refusalBeforePayload(claim, current, event);
  if (early) return early;
  const state = leafStateOf(current.value);
  let first: Refusal | undefined;
  for (const row of rowsOf(event.type, state)) {
    const failing = row.guards.find((name) => !claim.guards[name].test({ context: current.context, event, state }));
    if (!failing) return undefined;
    // A row whose only failing guard selects another outcome is not the one meant.
    const refusal = claim.guards[failing].refusal({ context: current.context, event, state });
    if (!failing.startsWith('outcome')) return refusal;
    first ??= refusal;
  }
  return first;
}

/**
 * The refusals that do not depend on the payload: the role, then the state. What a
 * caller can be told before reading a body (an upload); `explainRefusal` judges the rest.
 */
export function refusalBeforePayload(claim: ClaimMachine, current: ClaimSnapshot, event: ClaimEvent): Refusal | undefined {
  const state = leafStateOf(current.value);
  // A role that may never send this event hears so first: that is the more useful answer.
  const roleGuard = claim.guards.roleAllowed;
  if (!roleGuard.test({ context: current.context, event, state })) {
    return roleGuard.refusal({ context: current.context, event, state });
  }
  if (rowsOf(event.type, state).length > 0) return undefined;
  const from = [...new Set(rowsOf(event.type).flatMap((row) => row.from))];
  return {
    code: 'invalidState',
    kind: 'conflict',
    message:
      state === 'new'
        ? 'The claim does not exist yet: create it first.'
        : `${event.type} is not possible while the claim is ${state}; it is possible from ${from.join(', ')}.`,
    details: { state, allowedFrom: from },
  };
}

/**
 * The table's rows for `event` (from `state`, when given), in the order the machine
 * tries them. Outside building the machine, the table is read only through here.
 */
function rowsOf(event: string, state?: LeafState): TransitionRow[] {
  return TRANSITIONS.filter((row) => row.event === event && (state === undefined || row.from.includes(state)));
}

/**
 * Whether `role` passes the guards of `row` that depend on the role alone: the
 * event's roles, and the reasons the role may give (withdraw, denyConsent, reject).
 */
function roleMaySend(policy: Policy, row: TransitionRow, role: string): boolean {
  if (!policy.events[row.event]?.roles.includes(role)) return false;
  const mayGive = (code: string) => policy.rejectionReasons.some((r) => r.code === code && r.usableBy.includes(role));
  for (const guard of row.guards) {
    if (guard === 'withdrawReasonAllowed' && !mayGive('partnerRequest')) return false;
    if (guard === 'declineReasonAllowed' && !mayGive('customerDecline')) return false;
    if (guard === 'rejectReasonAllowed' && !policy.rejectionReasons.some((r) => r.usableBy.includes(role))) return false;
  }
  return true;
}

/** An event some role may send in a state, and those roles. */
export interface SendableEvent {
  event: EventType;
  roles: string[];
}

/**
 * The events some role may send in `state` under the machine's policy, each with the
 * roles that may: those that pass the guards depending on the role alone. Guards that
 * depend on the claim or the payload (ownership, requirements, windows) are left to
 * `explainRefusal`.
 */
export function sendableEvents(claim: ClaimMachine, state: LeafState): SendableEvent[] {
  const { policy } = claim;
  const sendable: SendableEvent[] = [];
  for (const event of EVENT_TYPES) {
    const rows = rowsOf(event, state);
    const roles = (policy.events[event]?.roles ?? []).filter((role) => rows.some((row) => roleMaySend(policy, row, role)));
    if (roles.length > 0) sendable.push({ event, roles });
  }
  return sendable;
}

/**
 * The state `event` leads to from `current`, as the machine picks it: the target of the
 * first row whose guards all pass (the same state for a self-transition, or when none does).
 * Runs no action: a partial claim (an evaluation's) is enough.
 */
export function targetOf(claim: ClaimMachine, current: ClaimSnapshot, event: ClaimEvent): LeafState {
  const state = leafStateOf(current.value);
  const { context } = current;
  for (const row of rowsOf(event.type, state)) {
    if (row.guards.every((name) => claim.guards[name].test({ context, event, state }))) return row.to ?? state;
  }
  return state;
}
