/**
 * Messages the service emits with a transition, written in the same transaction
 * (the outbox) and delivered afterwards to webhooks.
 */
import type { Policy } from '../rules/policy-types';
import type { ClaimRecord, HistoryEntry } from './claim-record';
import type { DeadlineRecord } from './deadline-tracker';

export const OUTBOX_TYPES = [
  'claim.approved',
  'claim.sentForAssessment',
  'claim.rejected',
  'claim.informationRequested',
] as const;
export type OutboxType = (typeof OUTBOX_TYPES)[number];

export interface OutboxMessage {
  /** `<claimId>:<seq>`: one message per history entry at most, so a retried write cannot duplicate it. */
  id: string;
  claimId: string;
  type: OutboxType;
  at: string;
  /** Who the message is for: the customer (consent notice), the partner, or assessment. */
  audience: 'customer' | 'partner' | 'assessment';
  payload: Record<string, unknown>;
}

/**
 * The deadline the recipient has to act before, in the state the claim is in now: the
 * running deadline whose `onDue` does something to the claim (sends an event, or closes
 * a window), earliest first. Escalations only flag the claim for reviewers. Found by
 * what the policy says each deadline does, never by name: a policy may name them as it likes.
 */
function actingDeadline(claim: ClaimRecord, policy: Pick<Policy, 'deadlines'>): DeadlineRecord | undefined {
  return claim.deadlines
    .filter((d) => {
      if (d.status !== 'running' || !Object.hasOwn(policy.deadlines, d.name)) return false;
      return !('escalate' in policy.deadlines[d.name]!.onDue);
    })
    .sort((a, b) => (a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : 0))[0];
}

/** The message a transition emits, if any; `policy` is the version the claim follows (its deadlines). */
export function outboxMessageFor(claim: ClaimRecord, entry: HistoryEntry, policy: Pick<Policy, 'deadlines'>): OutboxMessage | undefined {
  if (entry.from === entry.to) return undefined;
  const fields = claim.snapshot.context.fields;
  const base = { id: `${claim.id}:${entry.seq}`, claimId: claim.id, at: entry.at };
  const claimRef = {
    claimId: claim.id,
    partnerId: fields.partnerId,
    mpnId: fields.mpnId,
    tenantId: fields.customer?.tenantId,
    products: fields.products,
  };
  if (entry.to === 'approved.consentPending') {
    const window = actingDeadline(claim, policy);
    return {
      ...base,
      type: 'claim.approved',
      audience: 'customer',
      payload: {
        ...claimRef,
        customerContact: fields.customerContact,
        customerName: fields.customer?.name,
        consentDeadline: window ? { due: window.due, dueAt: window.dueAt } : null,
      },
    };
  }
  if (entry.to === 'approved.sentForAssessment') {
    return {
      ...base,
      type: 'claim.sentForAssessment',
      audience: 'assessment',
      payload: { ...claimRef, activity: fields.activity, programs: claim.assessment?.programs ?? [] },
    };
  }
  if (entry.to === 'rejected') {
    return {
      ...base,
      type: 'claim.rejected',
      audience: 'partner',
      payload: { ...claimRef, reason: claim.reason, partnerContact: fields.partnerContact },
    };
  }
  if (entry.event === 'requestInfo') {
    return {
      ...base,
      type: 'claim.informationRequested',
      audience: 'partner',
      payload: {
        ...claimRef,
        deficiencies: entry.payload.deficiencies,
        comment: entry.payload.comment,
        partnerContact: fields.partnerContact,
        responseDeadline: actingDeadline(claim, policy)?.dueAt ?? null,
      },
    };
  }
  return undefined;
}
