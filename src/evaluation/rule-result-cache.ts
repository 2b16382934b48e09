/**
 * Rule results kept per compiled policy and digest of the facts the rule set reads:
 * json-rules-engine's verdicts (and their explanations) depend on nothing else, so an
 * evaluation whose facts were seen before under the same policy skips the engine run.
 * A bounded LRU; size 0 keeps nothing.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { RuleEvaluation } from '../rules/evaluate-rules';
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
    key = `${compiled.policy.id}@${compiled.policy.version}#${(nextSerial += 1)}`;
    serials.set(compiled, key);
  }
  return key;
}

/** sha256 of the facts' canonical JSON (RFC 8785): equal facts, equal digest, whatever their key order. */
export function factsDigest(facts: Facts): string {
  return createHash('sha256').update(canonicalize(facts) ?? '').digest('hex');
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
      const key = `${policyKey(compiled)}:${factsDigest(facts)}`;
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
