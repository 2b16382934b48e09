/**
 * Decision log records: every evaluation and transition names the policy it ran
 * under, a digest of its inputs, its result and the rules that fired, so that a
 * decision can be matched to its inputs and reproduced later.
 */
import { createHash } from 'node:crypto';
import { deepFreeze } from '../domain/deep-freeze';
import { canonicalJson } from './history-chain';

/** SHA-256 (hex) of a value's canonical JSON: the same content always gives the same digest, whatever its key order. */
export function digestInput(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** The JSON text of values made immutable by `frozenWithJson`, written once, read by every record sharing them. */
const JSON_TEXT = new WeakMap<object, string>();

/**
 * Deep-freezes `value` (a plain JSON value) and keeps its JSON text, so that the decision log
 * writes it without serialising it again: one evaluation's verdict is shared by every record of
 * the same answer. Frozen, it cannot drift from its text.
 */
export function frozenWithJson<T extends object>(value: T): T {
  deepFreeze(value);
  JSON_TEXT.set(value, JSON.stringify(value));
  return value;
}

/** JSON.stringify(value), read from `frozenWithJson`'s record when the value went through it. */
export function jsonText(value: unknown): string {
  return (value !== null && typeof value === 'object' && JSON_TEXT.get(value)) || JSON.stringify(value ?? null);
}

export const DECISION_KINDS = ['transition', 'evaluation', 'shadow'] as const;
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
