/**
 * `cpor policy diff A B`: what changed from policy file A to policy file B, one
 * line per change grouped by section (or JSON).
 */
import { formatIssue, loadPolicyFile } from '../rules/load-policy';
import { POLICY_DIFF_SECTIONS, diffPolicies, type PolicyChange } from '../rules/policy-diff';

export interface PolicyDiffCommandOptions {
  json?: boolean;
  /** Like `git diff --exit-code`: exit 1 when the policies differ (and 2 when a file is broken). */
  exitCode?: boolean;
}

const MARKS: Record<PolicyChange['kind'], string> = { added: '+', removed: '-', changed: '~' };

/**
 * Loads both files and prints their differences. Exit status: 0 (also when they
 * differ); 1 when a file does not load (its located errors on stderr). With
 * `exitCode`: 0 same, 1 different, 2 a file does not load.
 */
export async function policyDiffCommand(
  a: string,
  b: string,
  options: PolicyDiffCommandOptions,
  out: { stdout(s: string): void; stderr(s: string): void },
): Promise<number> {
  const [before, after] = await Promise.all([loadPolicyFile(a), loadPolicyFile(b)]);
  if (!before.ok || !after.ok) {
    for (const result of [before, after]) {
      if (!result.ok) for (const issue of result.errors) out.stderr(`${formatIssue(issue)}\n`);
    }
    return options.exitCode ? 2 : 1;
  }
  const diff = diffPolicies(before.policy, after.policy);
  if (options.json) {
    out.stdout(`${JSON.stringify({ ...diff, from: { ...diff.from, file: a }, to: { ...diff.to, file: b } }, null, 2)}\n`);
  } else {
    const lines = [`--- ${a} (${diff.from.id} ${diff.from.version})`, `+++ ${b} (${diff.to.id} ${diff.to.version})`];
    for (const section of POLICY_DIFF_SECTIONS) {
      const changes = diff.changes.filter((change) => change.section === section);
      if (changes.length === 0) continue;
      lines.push('', section, ...changes.map((change) => `  ${MARKS[change.kind]} ${change.summary}`));
    }
    const count = diff.changes.length;
    lines.push('', count === 0 ? 'no differences' : `${count} change${count === 1 ? '' : 's'}`);
    out.stdout(`${lines.join('\n')}\n`);
  }
  return options.exitCode && diff.changes.length > 0 ? 1 : 0;
}
