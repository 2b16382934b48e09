/** A stored claim and its history entries: plain JSON, the same in every store. */
import type { Actor, Status, Substatus } from '../domain/claim-types';
import type { ClaimSnapshot } from '../machines/claim-machine';
import type { LeafState } from '../machines/claim-transitions';
import type { DeadlineRecord } from './deadline-tracker';

export interface ProgramEligibility {
  code: string;
  eligible: boolean;
  summary: string;
}

export interface ClaimRecord {
  id: string;
  /** Increments with every change; the API's ETag. */
  version: number;
  /** The policy version the claim follows: the one in effect, until submission pins it. */
  policy: { id: string; version: string };
  /** True once the claim was submitted: it keeps following `policy` from then on. */
  policyPinned: boolean;
  createdAt: string;
  updatedAt: string;
  state: LeafState;
  status: Status;
  substatus: Substatus | null;
  reason: string | null;
  snapshot: ClaimSnapshot;
  deadlines: DeadlineRecord[];
  /** Names of escalated deadlines the claim is overdue on. */
  overdue: string[];
  /** PoE deficiencies the policy's rules detect now (advisory). */
  deficiencies: string[];
  /** Earliest instant a running deadline falls due (what the scheduler looks for). */
  nextDueAt: string | null;
  /** Incentive eligibility, recorded when the claim is sent for assessment. */
  assessment: { at: string; programs: ProgramEligibility[] } | null;
  /** Sequence number of the claim's latest history entry. */
  lastSeq: number;
  /** Hash of the latest history entry (the chain's head). */
  lastHash: string | null;
}

export interface HistoryEntry {
  claimId: string;
  /** 1, 2, 3… per claim. */
  seq: number;
  at: string;
  actor: Actor;
  event: string;
  payload: Record<string, unknown>;
  from: LeafState;
  to: LeafState;
  policy: { id: string; version: string };
  /** Ids and file facts the service generated for this event (claim ID, PoE ID), so a replay reproduces them. */
  refs?: { claimId?: string; poeId?: string; file?: { sha256: string; size: number; contentType: string } };
  /** Hash of the previous entry of this claim (null for the first). */
  prevHash: string | null;
  /** SHA-256 of this entry's canonical JSON without `hash` (history-chain.ts). */
  hash: string;
}

/** `approved.consentPending` → status approved, substatus consentPending. */
export function statusOf(state: LeafState): { status: Status; substatus: Substatus | null } {
  if (state === 'new') throw new Error('a claim that does not exist has no status');
  const [status, substatus] = state.split('.') as [Status, Substatus | undefined];
  return { status, substatus: substatus ?? null };
}
