/** The decision record of an evaluation: what the decision log keeps of a verdict of evaluateClaim. */
import { frozenWithJson, type DecisionAuthor, type DecisionRecord } from '../claims/decision-digest';
import type { DecisionOnlyEvaluation } from './evaluate-claim';

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
 * What every decision record of one evaluation holds whoever asked and whenever: the policy, the
 * verdicts and the rules fired. Deep-frozen, with its JSON text kept (frozenWithJson): the answers
 * kept for repeated requests share it, and the log writes it without serialising it again.
 */
export interface EvaluationVerdict {
  policy: { id: string; version: string };
  result: EvaluationDecisionResult;
  rulesFired: string[];
}

export function verdictOf(evaluation: DecisionOnlyEvaluation): EvaluationVerdict {
  const result: EvaluationDecisionResult = {
    asOf: evaluation.asOf,
    status: evaluation.status,
    substatus: evaluation.substatus,
    allowedEvents: evaluation.allowedEvents.map((e) => e.event),
    blockedEvents: evaluation.blockedEvents.map((e) => ({ event: e.event, code: e.code })),
    editableFields: [...evaluation.editableFields],
    deficiencies: evaluation.deficiencies.filter((d) => d.found).map((d) => d.code),
    requirementsPassed: evaluation.submissionRequirements.passed,
    overdue: [...evaluation.overdue],
    eligible: evaluation.eligibility.filter((e) => e.eligible).map((e) => e.program),
  };
  if (evaluation.event) {
    const { type, allowed, refusal, to } = evaluation.event;
    result.event = { type, allowed, ...(refusal ? { code: refusal.code } : {}), ...(to !== undefined ? { to } : {}) };
  }
  return {
    policy: Object.freeze({ id: evaluation.policy.id, version: evaluation.policy.version }),
    result: frozenWithJson(result),
    rulesFired: frozenWithJson([...evaluation.rulesFired]),
  };
}

/**
 * The decision record of an evaluation of the claim `claimId` names (null: none), with its verdict
 * worked out before: filed at `recorded.at` (the service's clock when it answered) under
 * `recorded.author` (the caller), whatever instant the caller chose; `inputDigest` is digestInput of its input.
 */
export function evaluationRecord(
  verdict: EvaluationVerdict,
  claimId: string | null,
  recorded: { at: string; author: DecisionAuthor },
  inputDigest: string,
): DecisionRecord {
  return {
    claimId,
    at: recorded.at,
    kind: 'evaluation',
    author: { role: recorded.author.role, id: recorded.author.id },
    policy: verdict.policy,
    inputDigest,
    result: verdict.result,
    rulesFired: verdict.rulesFired,
  };
}
