/**
 * The machine's guards: each asks the policy one question, and knows how to say
 * why it refused (a machine-readable code and a sentence a person can act on).
 */
import { createCalendar, type Calendar } from '../calendar/calendar';
import { DEFAULT_DISPUTES_PER_CLAIM } from '../rules/policy-schema';
import { mayAccessClaim, ownersOf, type AccessKind } from '../domain/access';
import type { Policy } from '../rules/policy-types';
import { SYSTEM_ROLE } from '../rules/policy-types';
import type { ClaimContext, ClaimEvent, DisputeOutcome } from '../domain/claim-types';
import type { GuardName, LeafState } from './claim-transitions';
import type { CodeWithStatus } from '../domain/error-codes';

export interface GuardInput {
  context: ClaimContext;
  event: ClaimEvent;
  state: LeafState;
}

/** A refusal: what the domain answers when an event is not allowed; its kind goes with its code's status. */
export type Refusal = {
  message: string;
  path?: string;
  details?: Record<string, unknown>;
} & (
  | { kind: 'input'; code: CodeWithStatus<400> }
  | { kind: 'notAllowed'; code: CodeWithStatus<403> }
  | { kind: 'conflict'; code: CodeWithStatus<409> }
);

export interface GuardDefinition {
  test(input: GuardInput): boolean;
  refusal(input: GuardInput): Refusal;
}

const roleKind = (policy: Policy, role: string): AccessKind | undefined =>
  role === SYSTEM_ROLE ? 'system' : Object.hasOwn(policy.roles, role) ? policy.roles[role]!.kind : undefined;

function reasonRefusal(policy: Policy, reason: unknown, role: string): Refusal | undefined {
  const known = policy.rejectionReasons.find((r) => r.code === reason);
  if (!known) {
    return {
      code: 'unknownReason',
      kind: 'input',
      path: '$.reason',
      message: `"${String(reason)}" is not a rejection reason of policy ${policy.id} ${policy.version}; use one of ${policy.rejectionReasons.map((r) => r.code).join(', ')}.`,
    };
  }
  if (!known.usableBy.includes(role)) {
    const mine = policy.rejectionReasons.filter((r) => r.usableBy.includes(role)).map((r) => r.code);
    return {
      code: 'reasonNotAllowed',
      kind: 'notAllowed',
      path: '$.reason',
      message: `The ${role} role may not reject for "${known.code}"${mine.length ? `; it may use ${mine.join(', ')}` : ''}.`,
    };
  }
  return undefined;
}

function fixedReasonGuard(policy: Policy, reason: string): GuardDefinition {
  return {
    test: ({ event }) => reasonRefusal(policy, reason, event.actor.role) === undefined,
    refusal: ({ event }) => reasonRefusal(policy, reason, event.actor.role)!,
  };
}

function outcomeGuard(outcome: DisputeOutcome): GuardDefinition {
  return {
    test: ({ event }) => event.payload.outcome === outcome,
    refusal: () => ({
      code: 'invalidPayload',
      kind: 'input',
      path: '$.outcome',
      message: `outcome must be upheld, approved or partnerActionRequired.`,
    }),
  };
}

/** Names for a sentence: at most ten, then how many more. */
function listed(names: string[]): string {
  if (names.length === 0) return 'none';
  return names.length > 10 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ');
}

/** `104857600` → `100 MiB`; small sizes in bytes. */
function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Bytes of PoE files a claim has stored: its documents' and its removed documents' (a document without a file counts 0). */
function storedPoeBytes(context: ClaimContext): number {
  return [...context.poe, ...(context.removedPoe ?? [])].reduce((sum, d) => sum + (d.size ?? 0), 0);
}

/** The first per-claim PoE limit an upload would break, or undefined. */
function poeLimitRefusal(policy: Policy, { context, event }: GuardInput): Refusal | undefined {
  const { poeDocumentsPerClaim: maxDocuments, poeBytesPerClaim: maxBytes } = policy.limits ?? {};
  const documents = context.poe.length;
  if (maxDocuments !== undefined && documents >= maxDocuments) {
    return {
      code: 'poeLimitReached',
      kind: 'conflict',
      message: `The claim already has ${documents} PoE document${documents === 1 ? '' : 's'}, the most policy ${policy.id} ${policy.version} allows (limits.poeDocumentsPerClaim); remove one (removePoe) or combine documents into one file before uploading another.`,
      details: { limit: maxDocuments, documents },
    };
  }
  const size = event.meta?.file?.size ?? 0;
  const bytes = storedPoeBytes(context);
  if (maxBytes !== undefined && bytes + size > maxBytes) {
    return {
      code: 'poeBytesLimitReached',
      kind: 'conflict',
      message: `This file (${formatBytes(size)}) would take the claim's PoE files to ${formatBytes(bytes + size)}, over the ${formatBytes(maxBytes)} policy ${policy.id} ${policy.version} allows (limits.poeBytesPerClaim; files of removed documents count too); upload a smaller file (at most ${formatBytes(Math.max(0, maxBytes - bytes))}).`,
      details: { limit: maxBytes, bytes, size },
    };
  }
  return undefined;
}

/** Builds the guards for one policy. */
export function createGuards(policy: Policy): Record<GuardName, GuardDefinition> {
  // Built on first use: a machine can be built for a policy whose calendar is checked elsewhere.
  let calendar: Calendar | undefined;
  const localDate = (at: string) => (calendar ??= createCalendar(policy.calendar)).localDate(at);
  const disputeLimit = policy.limits?.disputesPerClaim ?? DEFAULT_DISPUTES_PER_CLAIM;
  const signedInFuture = ({ event }: GuardInput) => {
    const signedOn = event.payload.signedOn;
    if (typeof signedOn !== 'string') return false;
    let today: string;
    try {
      today = localDate(event.at);
    } catch {
      return false; // an event without a valid instant is refused where instants are validated, not here
    }
    return signedOn > today;
  };
  return {
    roleAllowed: {
      test: ({ event }) => policy.events[event.type]?.roles.includes(event.actor.role) ?? false,
      refusal: ({ event }) => ({
        code: 'forbiddenRole',
        kind: 'notAllowed',
        message: `The ${event.actor.role} role may not ${event.type}; allowed: ${(policy.events[event.type]?.roles ?? []).join(', ') || 'nobody'}.`,
      }),
    },
    actorOwnsClaim: {
      test: ({ context, event }) => {
        const owners = ownersOf(context.fields);
        // A claim being created belongs to the partner ID it names.
        if (event.type === 'create') owners.partnerId = event.payload.partnerId;
        return mayAccessClaim(roleKind(policy, event.actor.role), event.actor, owners);
      },
      refusal: ({ event }) => ({
        code: 'notYourClaim',
        kind: 'notAllowed',
        message:
          roleKind(policy, event.actor.role) === 'customer'
            ? 'Only a customer of the claimed tenant may act on this claim.'
            : roleKind(policy, event.actor.role) === undefined
              ? `The role ${event.actor.role} is not defined by policy ${policy.id} ${policy.version}.`
              : "A partner may act only on its own partner ID's claims.",
      }),
    },
    fieldsEditable: {
      test: ({ event, state }) => {
        const editable: readonly string[] = policy.editableFields[state as keyof Policy['editableFields']] ?? [];
        return Object.keys(event.payload).every((field) => editable.includes(field));
      },
      refusal: ({ event, state }) => {
        const editable: readonly string[] = policy.editableFields[state as keyof Policy['editableFields']] ?? [];
        const field = Object.keys(event.payload).find((f) => !editable.includes(f))!;
        return {
          code: 'fieldNotEditable',
          kind: 'conflict',
          path: `$.${field}`,
          message: `${field} cannot be edited while the claim is ${state}; editable now: ${editable.join(', ') || 'nothing'}.`,
        };
      },
    },
    deficienciesKnown: {
      test: ({ event }) => {
        const codes = (event.payload.deficiencies as string[] | undefined) ?? [];
        return codes.length > 0 && codes.every((c) => policy.deficiencies.some((d) => d.code === c));
      },
      refusal: ({ event }) => {
        const codes = (event.payload.deficiencies as string[] | undefined) ?? [];
        const index = codes.findIndex((c) => !policy.deficiencies.some((d) => d.code === c));
        return {
          code: 'unknownDeficiencyCode',
          kind: 'input',
          path: index < 0 ? '$.deficiencies' : `$.deficiencies[${index}]`,
          message: `${index < 0 ? 'At least one deficiency code is needed' : `"${codes[index]}" is not a PoE deficiency code`}; use ${policy.deficiencies.map((d) => d.code).join(', ')}.`,
        };
      },
    },
    rejectReasonAllowed: {
      test: ({ event }) => reasonRefusal(policy, event.payload.reason, event.actor.role) === undefined,
      refusal: ({ event }) => reasonRefusal(policy, event.payload.reason, event.actor.role)!,
    },
    withdrawReasonAllowed: fixedReasonGuard(policy, 'partnerRequest'),
    declineReasonAllowed: fixedReasonGuard(policy, 'customerDecline'),
    requirementsPass: {
      test: ({ event }) => event.meta?.requirements?.passed === true,
      refusal: ({ event }) => {
        const failed = event.meta?.requirements?.failed ?? [];
        return {
          code: 'requirementsNotMet',
          kind: 'conflict',
          message: failed.length
            ? failed.map((f) => f.message).join(' ')
            : 'The submission requirements were not evaluated.',
          details: { failed },
        };
      },
    },
    windowOpen: {
      test: ({ event }) => event.meta?.closedEvents?.[event.type] === undefined,
      refusal: ({ event }) => ({
        code: 'windowClosed',
        kind: 'conflict',
        message: `${event.type} is no longer possible: the ${event.meta?.closedEvents?.[event.type]} deadline has passed.`,
      }),
    },
    disputeLimitNotReached: {
      test: ({ context }) => context.disputes.length < disputeLimit,
      refusal: ({ context }) => {
        const n = context.disputes.length;
        return {
          code: 'disputeLimitReached',
          kind: 'conflict',
          message: `This claim has already been disputed ${n === 1 ? 'once' : `${n} times`}, the most policy ${policy.id} ${policy.version} allows (limits.disputesPerClaim: ${disputeLimit}); the last resolution stands. If the situation has changed, create a new claim.`,
          details: { limit: disputeLimit, disputes: n },
        };
      },
    },
    poeWithinLimits: {
      test: (input) => poeLimitRefusal(policy, input) === undefined,
      refusal: (input) => poeLimitRefusal(policy, input)!,
    },
    poeNotSignedInFuture: {
      test: (input) => !signedInFuture(input),
      refusal: ({ event }) => ({
        code: 'poeSignedInFuture',
        kind: 'input',
        path: '$.signedOn',
        message: `signedOn ${String(event.payload.signedOn)} is after today (${localDate(event.at)} in ${policy.calendar.timeZone}): a document cannot be signed in the future; give the date the customer signed it.`,
      }),
    },
    poeKnown: {
      test: ({ context, event }) => context.poe.some((d) => d.id === event.payload.poeId),
      refusal: ({ context, event }) => ({
        code: 'unknownPoe',
        kind: 'input',
        path: '$.poeId',
        message: `The claim has no PoE document "${String(event.payload.poeId)}"; its documents: ${listed(context.poe.map((d) => d.id))}.`,
      }),
    },
    outcomeUpheld: outcomeGuard('upheld'),
    outcomeApproved: outcomeGuard('approved'),
    outcomePartnerActionRequired: outcomeGuard('partnerActionRequired'),
  };
}
