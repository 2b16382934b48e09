/**
 * Decision log records: every evaluation and transition names the policy it ran
 * under, a digest of its inputs, its result and the rules that fired, so that a
 * decision can be matched to its inputs and reproduced later.
 */
import { createHash } from 'node:crypto';
import type { ClaimEvaluation, EvaluationInput } from './evaluate-claim';
import { canonicalJson } from './history-chain';

/** SHA-256 (hex) of a value's canonical JSON: the same content always gives the same digest, whatever its key order. */
export function digestInput(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export const DECISION_KINDS = ['transition', 'evaluation'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

export interface DecisionAuthor {
  role: string;
  id: string | null;
}

/** One entry of the decision log. */
export interface DecisionRecord {
  /** The claim decided on; null for an evaluation of a claim that is not stored. */
  claimId: string | null;
  /**
   * When the decision was made, by the service's clock: a transition's `at`, the
   * instant an evaluation was answered (never the caller's `asOf`, which its result keeps).
   */
  at: string;
  kind: DecisionKind;
  /** Who asked: the caller's role and subject (`system` for a deadline). Absent on records stored before authors were kept. */
  author?: DecisionAuthor;
  policy: { id: string; version: string };
  inputDigest: string;
  result: unknown;
  rulesFired: string[];
}

/** The part of an evaluation a decision log keeps: the verdicts, without the explanations (the inputs reproduce them). */
export interface EvaluationDecisionResult {
  /** The instant the caller evaluated the claim at. */
  asOf: string;
  status: string;
  substatus: string | null;
  allowedEvents: string[];
  blockedEvents: Array<{ event: string; code: string }>;
  editableFields: string[];
  deficiencies: string[];
  requirementsPassed: boolean;
  overdue: string[];
  eligible: string[];
  event?: { type: string; allowed: boolean; code?: string; to?: string };
}

/**
 * The decision record of one evaluation: filed at `recorded.at` (the service's clock when
 * it answered) under `recorded.author` (the caller), whatever instant the caller chose.
 */
export function decisionForEvaluation(
  input: EvaluationInput,
  evaluation: ClaimEvaluation,
  recorded: { at: string; author: DecisionAuthor },
): DecisionRecord {
  const result: EvaluationDecisionResult = {
    asOf: evaluation.asOf,
    status: evaluation.status,
    substatus: evaluation.substatus,
    allowedEvents: evaluation.allowedEvents.map((e) => e.event),
    blockedEvents: evaluation.blockedEvents.map((e) => ({ event: e.event, code: e.code })),
    editableFields: evaluation.editableFields,
    deficiencies: evaluation.deficiencies.filter((d) => d.found).map((d) => d.code),
    requirementsPassed: evaluation.submissionRequirements.passed,
    overdue: evaluation.overdue,
    eligible: evaluation.eligibility.filter((e) => e.eligible).map((e) => e.program),
  };
  if (evaluation.event) {
    const { type, allowed, refusal, to } = evaluation.event;
    result.event = { type, allowed, ...(refusal ? { code: refusal.code } : {}), ...(to !== undefined ? { to } : {}) };
  }
  return {
    claimId: input.claim.id ?? null,
    at: recorded.at,
    kind: 'evaluation',
    author: { role: recorded.author.role, id: recorded.author.id },
    policy: { id: evaluation.policy.id, version: evaluation.policy.version },
    inputDigest: digestInput(input),
    result,
    rulesFired: [...evaluation.rulesFired],
  };
}
