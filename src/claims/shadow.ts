/**
 * Shadow evaluation: a candidate policy version (`shadow: true`) run on the same claim and
 * event as the live version, and what it would have decided differently. Pure: a function of
 * the claim, the event and both versions' outcomes; it changes nothing and stores nothing
 * (the claim service records the decision it returns).
 */
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { ClaimRecord } from './claim-record';
import { digestInput, type DecisionRecord } from './decision-digest';
import { applyEvent, type Applied, type AppliedStep } from './lifecycle';

export const SHADOW_DIFFERENCE_KINDS = ['state', 'refusal', 'deficiencies', 'deadlines', 'eligibility'] as const;
export type ShadowDifferenceKind = (typeof SHADOW_DIFFERENCE_KINDS)[number];

/** What one version decided on a step: the parts a difference is looked for in. */
export interface ShadowOutcome {
  /** The state the claim would move to; null when refused. */
  to: string | null;
  /** The refusal's code; null when applied. */
  refusal: string | null;
  /** PoE deficiencies detected after the step. */
  deficiencies: string[];
  /** Deadlines the step would set or move: `<name> <local due date>`. */
  deadlines: string[];
  /** Programs found eligible, when the step sends the claim for assessment; else null. */
  eligible: string[] | null;
}

export interface ShadowDifference {
  kind: ShadowDifferenceKind;
  live: unknown;
  shadow: unknown;
}

/** The `result` of a shadow decision record. */
export interface ShadowResult {
  /** The history entry's event (`<deadline>Due` for a deadline's). */
  event: string;
  /** The history entry the live version wrote (null: the event was refused). */
  seq: number | null;
  live: ShadowOutcome & { policy: { id: string; version: string } };
  shadow: ShadowOutcome;
  differences: ShadowDifference[];
}

/** The outcome of a step under one version. */
function outcomeOf(before: ClaimRecord | null, applied: Applied, at: string): ShadowOutcome {
  if (!applied.ok) {
    return { to: null, refusal: applied.refusal.code, deficiencies: [...(before?.deficiencies ?? [])].sort(), deadlines: [], eligible: null };
  }
  const { record } = applied;
  const known = new Map((before?.deadlines ?? []).map((d) => [d.id, d.due]));
  const deadlines = record.deadlines
    .filter((d) => (d.status === 'running' || d.status === 'paused') && known.get(d.id) !== d.due)
    .map((d) => `${d.name} ${d.due}`)
    .sort();
  const assessed = record.assessment && record.assessment.at === at && record.assessment !== before?.assessment;
  return {
    to: record.state,
    refusal: null,
    deficiencies: [...record.deficiencies].sort(),
    deadlines,
    eligible: assessed ? record.assessment!.programs.filter((p) => p.eligible).map((p) => p.code).sort() : null,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Each part the two outcomes disagree on. */
function differencesOf(live: ShadowOutcome, shadow: ShadowOutcome): ShadowDifference[] {
  const differences: ShadowDifference[] = [];
  if (live.to !== shadow.to && live.to !== null && shadow.to !== null) differences.push({ kind: 'state', live: live.to, shadow: shadow.to });
  if (live.refusal !== shadow.refusal) differences.push({ kind: 'refusal', live: live.refusal, shadow: shadow.refusal });
  if (!same(live.deficiencies, shadow.deficiencies)) differences.push({ kind: 'deficiencies', live: live.deficiencies, shadow: shadow.deficiencies });
  if (!same(live.deadlines, shadow.deadlines)) differences.push({ kind: 'deadlines', live: live.deadlines, shadow: shadow.deadlines });
  if (!same(live.eligible, shadow.eligible)) differences.push({ kind: 'eligibility', live: live.eligible, shadow: shadow.eligible });
  return differences;
}

/**
 * The shadow version's verdict on a step the live version took, as a decision record of kind
 * `shadow`, or null when it decides the same. Its `inputDigest` names the claim, the live
 * transition (its decision digest, which covers the claim version and chain head it met) and
 * the shadow version: the same step evaluated again gives the same digest, so a store records
 * it once.
 */
export async function shadowDecision(shadow: CompiledPolicy, step: AppliedStep): Promise<DecisionRecord | null> {
  const { before, event, applied: live } = step;
  const candidate = await applyEvent(shadow, before, event, step.entry);
  const liveOutcome = outcomeOf(before, live, event.at);
  const shadowOutcome = outcomeOf(before, candidate, event.at);
  const differences = differencesOf(liveOutcome, shadowOutcome);
  if (differences.length === 0) return null;
  const claimId = live.ok ? live.record.id : (before?.id ?? null);
  const { id, version } = shadow.policy;
  const result: ShadowResult = {
    event: step.entry?.event ?? event.type,
    seq: live.ok ? live.entry.seq : null,
    live: { policy: live.decision.policy, ...liveOutcome },
    shadow: shadowOutcome,
    differences,
  };
  return {
    claimId,
    at: event.at,
    kind: 'shadow',
    author: live.decision.author ?? { role: event.actor.role, id: event.actor.id ?? null },
    policy: { id, version },
    inputDigest: digestInput({
      claimId,
      transition: live.decision.inputDigest,
      shadow: { id, version },
      // A refused create has no claim: its instant tells two of them apart.
      ...(claimId === null ? { at: event.at } : {}),
    }),
    result,
    rulesFired: candidate.decision.rulesFired,
  };
}
