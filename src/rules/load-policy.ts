/**
 * Reads a policy YAML file into a validated, deeply frozen `Policy`. Every issue
 * (YAML syntax, unsafe YAML, schema, semantics) carries its file, line and column:
 * the YAML is read in `policy-yaml.ts`, checked against the schema in
 * `policy-schema-check.ts`, then for what the schema cannot say in `policy-semantics.ts`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { deepFreeze } from '../domain/deep-freeze';
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

/**
 * The build's identity (scripts/build.mjs: a digest of the sources it compiled), defined only in
 * the compiled build; running the sources there is none, and nothing is read ahead of time.
 */
declare const __CPOR_BUILD_ID__: string | undefined;
const BUILD_ID = typeof __CPOR_BUILD_ID__ === 'string' ? __CPOR_BUILD_ID__ : undefined;

/**
 * The bundled policy files as the build parsed them (dist/parsed-policies.json, written by
 * scripts/build.mjs with scripts/parsed-policies.ts): reading, checking and freezing the YAML took
 * a fifth of the service's start-up. `{ build, node, policies: { [SHA-256 of the text]: { digest,
 * result } } }`, `result` the JSON of a load that passed with no warning (so it names no file),
 * `digest` its SHA-256. Used only by the build that wrote it under the Node that wrote it.
 */
const PARSED_POLICIES_FILE = 'parsed-policies.json';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The parses in a parsed-policies file's `text` for build `build`; null when it is for another build or Node, or not one. */
export function readParsedPolicies(text: string, build: string | undefined): ReadonlyMap<string, unknown> | null {
  if (build === undefined) return null;
  try {
    const file = JSON.parse(text) as { build?: unknown; node?: unknown; policies?: unknown };
    if (file.build !== build || file.node !== process.version || typeof file.policies !== 'object' || file.policies === null) return null;
    return new Map(Object.entries(file.policies));
  } catch {
    return null;
  }
}

let parsedAhead: ReadonlyMap<string, unknown> | null | undefined;

function parsedAheadOfTime(): ReadonlyMap<string, unknown> | null {
  if (parsedAhead === undefined) {
    parsedAhead = null;
    if (BUILD_ID !== undefined) {
      try {
        parsedAhead = readParsedPolicies(readFileSync(fileURLToPath(new URL(`./${PARSED_POLICIES_FILE}`, import.meta.url)), 'utf8'), BUILD_ID);
      } catch {
        // No such file (or unreadable): every policy is parsed.
      }
    }
  }
  return parsedAhead;
}

/**
 * `parsePolicy(text, file)`, answered from `parsed` (by default what the build parsed) when it
 * holds this text's load: an entry whose JSON does not hash to its digest, or is not a passed
 * load, is ignored. Any other text (a changed file) is parsed.
 */
export function parsePolicyAheadOfTime(text: string, file: string, parsed = parsedAheadOfTime()): PolicyLoadResult {
  const entry = parsed?.get(sha256(text)) as { digest?: unknown; result?: unknown } | undefined;
  if (entry && typeof entry.result === 'string' && entry.digest === sha256(entry.result)) {
    try {
      const result = JSON.parse(entry.result) as { ok?: unknown; policy?: unknown; warnings?: unknown };
      if (result.ok === true && typeof result.policy === 'object' && result.policy !== null && Array.isArray(result.warnings) && result.warnings.length === 0) {
        return { ok: true, policy: deepFreeze(result.policy as Policy), warnings: [] };
      }
    } catch {
      // Not JSON after all: parsed below.
    }
  }
  return parsePolicy(text, file);
}

/** What the build keeps for a policy text: the entry of a load that passed with no warning, or undefined. */
export function parsedPolicyEntry(text: string): { key: string; entry: { digest: string; result: string } } | undefined {
  const result = parsePolicy(text, '');
  if (!result.ok || result.warnings.length > 0) return undefined;
  const json = JSON.stringify(result);
  // Only what JSON gives back as it was (an infinite number, say, would not be).
  if (!isDeepStrictEqual(JSON.parse(json), result)) return undefined;
  return { key: sha256(text), entry: { digest: sha256(json), result: json } };
}
