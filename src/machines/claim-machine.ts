/**
 * The claim lifecycle as an XState v5 machine, generated from the transition
 * table and stepped with the pure `transition()`. Guards ask the policy; the
 * snapshot (state value + context) is plain JSON.
 */
import { and, assign, initialTransition, setup, transition, type AnyStateMachine } from 'xstate';
import type { Policy } from '../rules/policy-types';
import type {
  ClaimContext,
  ClaimEvent,
  ClaimFields,
  DisputeOutcome,
  PoeDocument,
  Product,
  StateId,
} from './claim-types';
import { LEAF_STATES, TRANSITIONS, type ActionName, type GuardName, type LeafState } from './claim-transitions';
import { createGuards, type Refusal } from './guards';
import { validatePayload } from './event-payloads';

/** A claim's machine state, as stored: plain JSON. */
export interface ClaimSnapshot {
  value: string | { approved: string };
  context: ClaimContext;
}

const EMPTY_CONTEXT: ClaimContext = {
  id: '',
  fields: {} as ClaimFields,
  poe: [],
  reason: null,
  requestedDeficiencies: [],
  disputes: [],
};

type GuardParams = { state: LeafState };

function buildActions() {
  const setReason = (reason: (event: ClaimEvent) => string) =>
    assign<ClaimContext, ClaimEvent, undefined, ClaimEvent, never>(({ event }) => ({ reason: reason(event) }));
  const actions: Record<ActionName, ReturnType<typeof assign<ClaimContext, ClaimEvent, undefined, ClaimEvent, never>>> = {
    initializeClaim: assign(({ event }) => ({
      id: event.meta?.claimId ?? '',
      fields: { ...(event.payload as unknown as ClaimFields), products: (event.payload.products as Product[] | undefined) ?? [] },
    })),
    applyEdit: assign(({ context, event }) => ({
      fields: { ...context.fields, ...(event.payload as Partial<ClaimFields>) },
    })),
    addPoe: assign(({ context, event }) => {
      const payload = event.payload as Omit<PoeDocument, 'id' | 'uploadedAt' | 'uploadedBy'>;
      const document: PoeDocument = {
        id: event.meta?.poeId ?? `poe-${context.poe.length + 1}`,
        ...payload,
        uploadedAt: event.at,
        uploadedBy: event.actor.id ?? event.actor.role,
        ...(event.meta?.file ?? {}),
      };
      return { poe: [...context.poe, document] };
    }),
    removePoe: assign(({ context, event }) => {
      const poeId = event.payload.poeId as string;
      const removed = context.poe.find((d) => d.id === poeId)!;
      const comment = event.payload.comment as string | undefined;
      return {
        poe: context.poe.filter((d) => d.id !== poeId),
        removedPoe: [
          ...(context.removedPoe ?? []),
          { ...removed, removedAt: event.at, removedBy: event.actor.id ?? event.actor.role, ...(comment ? { comment } : {}) },
        ],
      };
    }),
    recordRequest: assign(({ event }) => ({
      requestedDeficiencies: [...(event.payload.deficiencies as string[])],
    })),
    setRejectReason: setReason((event) => event.payload.reason as string),
    setWithdrawReason: setReason(() => 'partnerRequest'),
    setDeclineReason: setReason(() => 'customerDecline'),
    clearReason: assign(() => ({ reason: null })),
    recordDispute: assign(({ context, event }) => ({
      disputes: [
        ...context.disputes,
        {
          program: event.payload.program as string,
          details: event.payload.details as string,
          raisedAt: event.at,
          raisedBy: event.actor.id ?? event.actor.role,
          claimId: context.id,
          mpnId: context.fields.mpnId,
          tenantId: context.fields.customer.tenantId,
          products: context.fields.products as Product[],
        },
      ],
    })),
    recordResolution: assign(({ context, event }) => ({
      disputes: context.disputes.map((d, i) =>
        i === context.disputes.length - 1
          ? {
              ...d,
              resolution: {
                outcome: event.payload.outcome as DisputeOutcome,
                comment: event.payload.comment as string,
                at: event.at,
                by: event.actor.id ?? event.actor.role,
              },
            }
          : d,
      ),
    })),
  };
  return actions;
}

const stateNodeId = (leaf: LeafState) => `#claim.${leaf}`;

/** Builds the claim machine for one policy (build once per loaded policy). */
export function createClaimMachine(policy: Policy) {
  const guards = createGuards(policy);
  const guardImpls = Object.fromEntries(
    (Object.keys(guards) as GuardName[]).map((name) => [
      name,
      ({ context, event }: { context: ClaimContext; event: ClaimEvent }, params: GuardParams) =>
        guards[name].test({ context, event, state: params.state }),
    ]),
  ) as Record<GuardName, (args: { context: ClaimContext; event: ClaimEvent }, params: GuardParams) => boolean>;

  const handlersFor = (leaf: LeafState) => {
    const on: Record<string, Array<Record<string, unknown>>> = {};
    for (const row of TRANSITIONS) {
      if (!row.from.includes(leaf)) continue;
      (on[row.event] ??= []).push({
        ...(row.to ? { target: stateNodeId(row.to) } : {}),
        guard: and(row.guards.map((type) => ({ type, params: { state: leaf } }))),
        actions: [...row.actions],
      });
    }
    return on;
  };
  const leaf = (name: LeafState) => ({ id: name, on: handlersFor(name) });

  const machine = setup({
    types: {} as { context: ClaimContext; events: ClaimEvent },
    guards: guardImpls,
    actions: buildActions(),
  }).createMachine({
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
          consentPending: { id: 'approved.consentPending', on: handlersFor('approved.consentPending') },
          sentForAssessment: { id: 'approved.sentForAssessment', on: handlersFor('approved.sentForAssessment') },
        },
      },
      rejected: leaf('rejected'),
      disputed: leaf('disputed'),
    },
  } as never);
  return { machine: machine as unknown as AnyStateMachine, guards, policy };
}

export type ClaimMachine = ReturnType<typeof createClaimMachine>;

/** `{ approved: 'consentPending' }` → `approved.consentPending`. */
export function leafStateOf(value: ClaimSnapshot['value']): LeafState {
  const id = typeof value === 'string' ? value : `approved.${value.approved}`;
  if (!(LEAF_STATES as readonly string[]).includes(id)) throw new Error(`unknown claim state ${JSON.stringify(value)}`);
  return id as LeafState;
}

/** Whether a leaf state lies in a policy state (`approved` covers both substates). */
export function stateMatches(leaf: LeafState | StateId, policyState: StateId): boolean {
  return leaf === policyState || leaf.startsWith(`${policyState}.`);
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
  const resolved = claim.machine.resolveState({ value: current.value, context: current.context });
  const [next] = transition(claim.machine, resolved, event);
  const snapshot = toClaimSnapshot(next);
  return { ok: true, snapshot, from, to: leafStateOf(snapshot.value) };
}

/**
 * Why the machine would refuse `event` now, or undefined when it would take it.
 * Checks in order: payload, role, state, then each row's guards.
 */
export function explainRefusal(claim: ClaimMachine, current: ClaimSnapshot, event: ClaimEvent): Refusal | undefined {
  const state = leafStateOf(current.value);
  const rows = TRANSITIONS.filter((row) => row.event === event.type);
  if (rows.length === 0) {
    return { code: 'unknownEvent', kind: 'input', message: `Unknown event "${event.type}".` };
  }
  const issue = validatePayload(event.type, event.payload);
  if (issue) {
    return { code: 'invalidPayload', kind: 'input', path: issue.path, message: `${issue.path}: ${issue.message}` };
  }
  // A role that may never send this event hears so first: that is the more useful answer.
  const roleGuard = claim.guards.roleAllowed;
  if (!roleGuard.test({ context: current.context, event, state })) {
    return roleGuard.refusal({ context: current.context, event, state });
  }
  const here = rows.filter((row) => row.from.includes(state));
  if (here.length === 0) {
    const from = [...new Set(rows.flatMap((row) => row.from))];
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
  let first: Refusal | undefined;
  for (const row of here) {
    const failing = row.guards.find((name) => !claim.guards[name].test({ context: current.context, event, state }));
    if (!failing) return undefined;
    // A row whose only failing guard selects another outcome is not the one meant.
    const refusal = claim.guards[failing].refusal({ context: current.context, event, state });
    if (!failing.startsWith('outcome')) return refusal;
    first ??= refusal;
  }
  return first;
}
