/** Where the claim service gets the policy for a claim: the version in effect, or the one a claim is pinned to. */
import type { CompiledPolicy } from './compiled-policy';

export interface PolicySource {
  /** The version in effect at `at`. */
  current(at: Date): CompiledPolicy;
  /** A version by id and version, if it is known. */
  get(ref: { id: string; version: string }): CompiledPolicy | undefined;
  /** The shadow versions of a program (policy-registry.ts): evaluated beside the live one, never in effect. None when absent. */
  shadows?(programId: string): CompiledPolicy[];
}

/** A source of exactly one policy (simulations, tests). */
export function singlePolicySource(policy: CompiledPolicy): PolicySource {
  return {
    current: () => policy,
    get: (ref) => (ref.id === policy.policy.id && ref.version === policy.policy.version ? policy : undefined),
  };
}
