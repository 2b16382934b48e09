/** The decision record of an evaluation: what the decision log keeps of a verdict of evaluateClaim. */
import { digestInput, type DecisionAuthor, type DecisionRecord } from '../claims/decision-digest';
import type { DecisionOnlyEvaluation, EvaluationInput } from './evaluate-claim';

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
  evaluation: DecisionOnlyEvaluation,
  recorded: { at: string; author: DecisionAuthor },
  /** digestInput(input), when the caller has it already. */
  inputDigest: string = digestInput(input),
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
    inputDigest,
    result,
    rulesFired: [...evaluation.rulesFired],
  };
}
