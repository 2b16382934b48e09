/** The bundled policy, loaded through the real loader, for tests. */
import { resolve } from 'node:path';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { loadPolicyFile } from '../../src/rules/load-policy';
import type { Policy } from '../../src/rules/policy-types';

export const BUNDLED_POLICY_PATH = resolve(import.meta.dirname, '..', '..', 'policies', 'cpor.yaml');

let cached: Promise<CompiledPolicy> | undefined;

export async function bundledPolicy(): Promise<Policy> {
  return (await compiledBundledPolicy()).policy;
}

export function compiledBundledPolicy(): Promise<CompiledPolicy> {
  cached ??= loadPolicyFile(BUNDLED_POLICY_PATH).then((result) => {
    if (!result.ok) throw new Error(`bundled policy does not load: ${JSON.stringify(result.errors)}`);
    return compilePolicy(result.policy);
  });
  return cached;
}

/** A variant of a loaded policy (plain data; the loader's freeze does not apply). */
export function withPolicy(policy: Policy, change: (draft: Policy) => void): Policy {
  const draft = structuredClone(policy) as Policy;
  change(draft);
  return draft;
}
