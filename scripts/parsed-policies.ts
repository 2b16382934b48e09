/**
 * The bundled policies parsed at build time (dist/parsed-policies.json): scripts/build.mjs bundles
 * this module to a temporary file and writes what `parsedPoliciesFile` answers; the service reads it
 * back in src/rules/load-policy.ts (parsePolicyAheadOfTime) instead of parsing the same text again.
 */
import { parsedPolicyEntry } from '../src/rules/load-policy';

/** The file's JSON for the policy texts `texts`, built by `build` under this Node. */
export function parsedPoliciesFile(texts: string[], build: string): string {
  const policies: Record<string, { digest: string; result: string }> = {};
  for (const text of texts) {
    const parsed = parsedPolicyEntry(text);
    if (parsed) policies[parsed.key] = parsed.entry;
  }
  return `${JSON.stringify({ build, node: process.version, policies })}\n`;
}
