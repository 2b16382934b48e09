/**
 * The machine's guards: each asks the policy one question, and knows how to say
 * why it refused (a machine-readable code and a sentence a person can act on).
 */
import { sameTenant } from '../domain/tenant-id';
import type { Policy } from '../rules/policy-types';
import { SYSTEM_ROLE } from '../rules/policy-types';
import type { ClaimContext, ClaimEvent, DisputeOutcome } from './claim-types';
import type { GuardName, LeafState } from './claim-transitions';

export interface GuardInput {
  context: ClaimContext;
  event: ClaimEvent;
  state: LeafState;
}

/** A refusal: what the domain answers when an event is not allowed. */
export interface Refusal {
  code: string;
  message: string;
  kind: 'input' | 'notAllowed' | 'conflict';
  path?: string;
  details?: Record<string, unknown>;
}

export interface GuardDefinition {
  test(input: GuardInput): boolean;
  refusal(input: GuardInput): Refusal;
}

const roleKind = (policy: Policy, role: string) =>
  role === SYSTEM_ROLE ? 'system' : policy.roles[role]?.kind;

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

/** Builds the guards for one policy. */
export function createGuards(policy: Policy): Record<GuardName, GuardDefinition> {
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
        const kind = roleKind(policy, event.actor.role);
        if (kind === 'partner') {
          const partnerId = event.type === 'create' ? event.payload.partnerId : context.fields.partnerId;
          return event.actor.partnerId !== undefined && event.actor.partnerId === partnerId;
        }
        if (kind === 'customer') {
          return sameTenant(event.actor.tenantId, context.fields.customer?.tenantId);
        }
        return kind !== undefined;
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
    outcomeUpheld: outcomeGuard('upheld'),
    outcomeApproved: outcomeGuard('approved'),
    outcomePartnerActionRequired: outcomeGuard('partnerActionRequired'),
  };
}
