/**
 * Rule results kept per compiled policy and the values of exactly the facts its rules read:
 * json-rules-engine's verdicts (and their explanations) depend on nothing else, so an
 * evaluation whose read facts were seen before under the same policy skips the engine run.
 * A bounded LRU; size 0 keeps nothing.
 */
import { factsReadBy, type RuleEvaluation } from '../rules/evaluate-rules';
import type { Facts } from '../rules/facts';
import type { CompiledPolicy } from '../policies/compiled-policy';

export interface RuleResultCache {
  /** The rule results for these facts under this policy: cached, or run (and kept). Never mutate the result. */
  evaluate(compiled: CompiledPolicy, facts: Facts): Promise<RuleEvaluation>;
  readonly size: number;
  /** Calls answered from the cache, and calls that ran the rules. */
  readonly hits: number;
  readonly misses: number;
}

/** Each compiled policy gets its own key prefix: another version, or the same version reloaded, never hits. */
const serials = new WeakMap<CompiledPolicy, string>();
let nextSerial = 0;

function policyKey(compiled: CompiledPolicy): string {
  let key = serials.get(compiled);
  if (key === undefined) {
    // The serial first: it alone tells compiled policies apart, whatever their id and version hold.
    key = `${(nextSerial += 1)}:${compiled.policy.id}@${compiled.policy.version}`;
    serials.set(compiled, key);
  }
  return key;
}

/** The facts the policy's rules read (factsReadBy), worked out once per compiled policy. */
const readFactsOf = new WeakMap<CompiledPolicy, readonly string[]>();

function readFacts(compiled: CompiledPolicy): readonly string[] {
  let names = readFactsOf.get(compiled);
  if (!names) {
    names = factsReadBy(compiled.policy);
    readFactsOf.set(compiled, names);
  }
  return names;
}

/** A fact value as text, one text per value (numbers as written, so NaN is not null; -0 and 0 compare equal in every operator). */
function encode(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/**
 * The cache key of these facts under this policy: the policy's serial, then the value of each fact
 * its rules read, in name order (equal read facts, equal key, whatever the key order or the
 * facts no rule reads).
 */
export function factsKey(compiled: CompiledPolicy, facts: Facts): string {
  const values = facts as unknown as Record<string, unknown>;
  let key = policyKey(compiled);
  for (const name of readFacts(compiled)) key += `\u0000${encode(values[name])}`;
  return key;
}

export function createRuleResultCache(maxEntries: number): RuleResultCache {
  // A Map keeps insertion order: re-inserting on a hit makes its first key the least recently used.
  const entries = new Map<string, RuleEvaluation>();
  let hits = 0;
  let misses = 0;
  return {
    async evaluate(compiled, facts) {
      if (maxEntries <= 0) {
        misses += 1;
        return compiled.rules.evaluate(facts);
      }
      const key = factsKey(compiled, facts);
      const cached = entries.get(key);
      if (cached) {
        hits += 1;
        entries.delete(key);
        entries.set(key, cached);
        return cached;
      }
      misses += 1;
      const result = await compiled.rules.evaluate(facts);
      entries.set(key, result);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return result;
    },
    get size() {
      return entries.size;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}
