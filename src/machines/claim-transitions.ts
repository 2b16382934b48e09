/**
 * DESIGN.md's transition table as data. The machine is generated from it, and a
 * refused event is explained by walking the same rows and guards.
 */
import type { DisputeOutcome, EventType } from '../domain/claim-types';

/** Leaf states of the machine (`new` is the state before `create`). */
export const LEAF_STATES = [
  'new',
  'editing',
  'submitted',
  'underReview',
  'partnerActionRequired',
  'approved.consentPending',
  'approved.sentForAssessment',
  'rejected',
  'disputed',
] as const;
export type LeafState = (typeof LEAF_STATES)[number];

export type GuardName =
  | 'roleAllowed'
  | 'actorOwnsClaim'
  | 'fieldsEditable'
  | 'deficienciesKnown'
  | 'rejectReasonAllowed'
  | 'withdrawReasonAllowed'
  | 'declineReasonAllowed'
  | 'requirementsPass'
  | 'windowOpen'
  | 'disputeLimitNotReached'
  | 'poeWithinLimits'
  | 'poeNotSignedInFuture'
  | 'poeKnown'
  | 'outcomeUpheld'
  | 'outcomeApproved'
  | 'outcomePartnerActionRequired';

export type ActionName =
  | 'initializeClaim'
  | 'applyEdit'
  | 'addPoe'
  | 'removePoe'
  | 'recordRequest'
  | 'setRejectReason'
  | 'setWithdrawReason'
  | 'setDeclineReason'
  | 'clearReason'
  | 'recordDispute'
  | 'recordResolution';

export interface TransitionRow {
  event: EventType;
  from: readonly LeafState[];
  /** Target leaf state; undefined keeps the state (a self-transition without exit/entry). */
  to?: LeafState;
  guards: readonly GuardName[];
  actions: readonly ActionName[];
}

const ACTIVE_STATES = ['editing', 'submitted', 'partnerActionRequired'] as const;
const ALL_CLAIM_STATES = LEAF_STATES.filter((s) => s !== 'new');
// Every event checks who sends it and whether a lapsed deadline (a window) has closed it.
const who = ['roleAllowed', 'actorOwnsClaim', 'windowOpen'] as const;

const OUTCOME_GUARD: Record<DisputeOutcome, GuardName> = {
  upheld: 'outcomeUpheld',
  approved: 'outcomeApproved',
  partnerActionRequired: 'outcomePartnerActionRequired',
};

export const TRANSITIONS: readonly TransitionRow[] = [
  { event: 'create', from: ['new'], to: 'editing', guards: who, actions: ['initializeClaim'] },
  { event: 'edit', from: ACTIVE_STATES, guards: [...who, 'fieldsEditable'], actions: ['applyEdit'] },
  {
    event: 'uploadPoe',
    from: ACTIVE_STATES,
    guards: [...who, 'poeNotSignedInFuture', 'poeWithinLimits'],
    actions: ['addPoe'],
  },
  { event: 'removePoe', from: ACTIVE_STATES, guards: [...who, 'poeKnown'], actions: ['removePoe'] },
  { event: 'comment', from: ALL_CLAIM_STATES, guards: who, actions: [] },
  { event: 'submit', from: ['editing'], to: 'submitted', guards: [...who, 'requirementsPass'], actions: [] },
  { event: 'startReview', from: ['submitted'], to: 'underReview', guards: who, actions: [] },
  {
    event: 'requestInfo',
    from: ['underReview'],
    to: 'partnerActionRequired',
    guards: [...who, 'deficienciesKnown'],
    actions: ['recordRequest'],
  },
  { event: 'resubmit', from: ['partnerActionRequired'], to: 'underReview', guards: who, actions: [] },
  { event: 'approve', from: ['underReview'], to: 'approved.consentPending', guards: who, actions: [] },
  {
    event: 'reject',
    from: ['underReview', 'partnerActionRequired'],
    to: 'rejected',
    guards: [...who, 'rejectReasonAllowed'],
    actions: ['setRejectReason'],
  },
  {
    event: 'withdraw',
    from: ALL_CLAIM_STATES.filter((s) => s !== 'rejected'),
    to: 'rejected',
    guards: [...who, 'withdrawReasonAllowed'],
    actions: ['setWithdrawReason'],
  },
  {
    event: 'denyConsent',
    from: ['approved.consentPending'],
    to: 'rejected',
    guards: [...who, 'declineReasonAllowed'],
    actions: ['setDeclineReason'],
  },
  {
    event: 'dispute',
    from: ['rejected'],
    to: 'disputed',
    guards: [...who, 'disputeLimitNotReached'],
    actions: ['recordDispute'],
  },
  {
    event: 'resolveDispute',
    from: ['disputed'],
    to: 'rejected',
    guards: [...who, OUTCOME_GUARD.upheld],
    actions: ['recordResolution'],
  },
  {
    event: 'resolveDispute',
    from: ['disputed'],
    to: 'approved.consentPending',
    guards: [...who, OUTCOME_GUARD.approved],
    actions: ['recordResolution', 'clearReason'],
  },
  {
    event: 'resolveDispute',
    from: ['disputed'],
    to: 'partnerActionRequired',
    guards: [...who, OUTCOME_GUARD.partnerActionRequired],
    actions: ['recordResolution', 'clearReason'],
  },
  {
    event: 'sendForAssessment',
    from: ['approved.consentPending'],
    to: 'approved.sentForAssessment',
    guards: who,
    actions: [],
  },
];
