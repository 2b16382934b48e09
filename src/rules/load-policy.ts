/**
 * Reads a policy YAML file into a validated, deeply frozen `Policy`. Every issue
 * (YAML syntax, unsafe YAML, schema, semantics) carries its file, line and column:
 * the YAML is read in `policy-yaml.ts`, checked against the schema in
 * `policy-schema-check.ts`, then for what the schema cannot say in `policy-semantics.ts`.
 */
import { readFile } from 'node:fs/promises';
import { failedLoad, sortedUnique, type PolicyIssue, type PolicyLoadResult } from './policy-issues';
import { checkPolicySchema } from './policy-schema-check';
import { semanticIssues } from './policy-semantics';
import type { Policy } from './policy-types';
import { readPolicyYaml } from './policy-yaml';

export { PolicyError, duplicateIssue, formatIssue, type PolicyIssue, type PolicyLoadResult } from './policy-issues';

/** Reads and parses a policy file; a missing or unreadable file is an issue, not a throw. */
export async function loadPolicyFile(path: string): Promise<PolicyLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const issue: PolicyIssue = {
      file: path,
      line: 1,
      column: 1,
      path: '$',
      code: code === 'ENOENT' ? 'fileNotFound' : 'unreadableFile',
      message:
        code === 'ENOENT'
          ? 'No such policy file.'
          : `The policy file cannot be read: ${(error as Error).message}.`,
      severity: 'error',
    };
    return { ok: false, errors: [issue], warnings: [] };
  }
  return parsePolicy(text, path);
}


/** Parses policy YAML text (pure): YAML, safety, schema, then semantic checks. */
export function parsePolicy(text: string, file: string): PolicyLoadResult {
  const yaml = readPolicyYaml(text, file);
  if (!yaml.ok) return failedLoad(yaml.issues);
  const { data, located } = yaml;
  const schema = checkPolicySchema(data);
  // Semantic checks run on the parts the schema found well-formed, so one lint shows every error.
  const issues = [
    ...yaml.warnings,
    ...[...schema.issues, ...semanticIssues(data as Policy, schema.wellFormed)].map((i) => located.resolve(i)),
  ];
  if (!schema.valid || issues.some((i) => i.severity === 'error')) return failedLoad(issues);
  return { ok: true, policy: deepFreeze(data as Policy), warnings: sortedUnique(issues) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
