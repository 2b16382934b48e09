/** `cpor evaluate FILE`: what a policy says about a claim at an instant, from a JSON or YAML file (stateless). */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Clock } from '../claims/claim-service';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { evaluateClaim, evaluationInputSchema, type EvaluationInput } from '../evaluation/evaluate-claim';
import { DomainError } from '../domain/errors';
import { parseInstant } from '../domain/instants';
import { offsetOfPath, segmentsOfJsonPath } from '../domain/yaml-locate';
import { issuesOf } from '../http/validation';
import { PolicyError, formatIssue } from '../rules/load-policy';
import { createPolicyRegistry } from '../policies/policy-registry';
import { resolvePolicyVersion } from '../policies/resolve-policy-version';
import { defaultPolicyPath, loadCompiledPolicy, PolicyLoadError } from '../simulate/policy-files';
import { systemClock } from '../system-clock';
import type { Output } from './output';

export interface EvaluateCommandOptions {
  /** A policy file to evaluate under, instead of the version in effect. */
  policy?: string;
  /** Overrides the file's `asOf`. */
  asOf?: string;
}

export interface EvaluateCommandDeps {
  env?: NodeJS.ProcessEnv;
  /** `asOf` when neither the file nor --as-of gives one. */
  clock?: Clock;
}

/** Evaluates the input in `file` and prints the evaluation JSON; a bad file prints its located errors and exits 1. */
export async function evaluateCommand(
  file: string,
  options: EvaluateCommandOptions,
  out: Output,
  deps: EvaluateCommandDeps = {},
): Promise<number> {
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const fail = (lines: string[]) => {
    out.stderr(lines.map((line) => `${line}\n`).join(''));
    return 1;
  };
  if (options.asOf !== undefined && !parseInstant(options.asOf).ok) {
    out.stderr(`cpor evaluate: --as-of must be an ISO-8601 instant with a time zone (2026-03-10T09:00:00Z), not "${options.asOf}"\n`);
    return 2;
  }

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return fail([`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  const located = locateIn(text);
  if (located.syntax) return fail([`${file}:${located.syntax.line}:${located.syntax.column}: ${located.syntax.message}`]);
  let data = located.data;
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const asOf = options.asOf ?? (data as { asOf?: unknown }).asOf ?? clock.now().toISOString();
    data = { ...(data as object), asOf };
  }
  const issues = issuesOf(evaluationInputSchema, data);
  if (issues.length > 0) return fail(issues.map((issue) => `${file}:${located.position(issue.path)}: ${issue.path}: ${issue.message}`));
  const input = data as EvaluationInput;

  let policy: CompiledPolicy;
  try {
    policy = await policyFor(input, options, env, clock);
  } catch (error) {
    if (error instanceof PolicyLoadError) return fail([`cpor evaluate: the policy ${options.policy} does not load:`, error.message]);
    if (error instanceof PolicyError) return fail([`cpor evaluate: the policies do not load:`, ...error.issues.map(formatIssue)]);
    if (error instanceof DomainError) {
      const path = error.path ?? (error.code === 'policyNotInEffect' ? '$.asOf' : '$.policyVersion');
      return fail([`${file}:${located.position(path)}: ${error.message}`]);
    }
    throw error;
  }
  try {
    const evaluation = await evaluateClaim(policy, input);
    out.stdout(`${JSON.stringify(evaluation, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const path = error.path ?? (error.code === 'unknownPolicyVersion' ? '$.policyVersion' : '$');
    return fail([`${file}:${located.position(path)}: ${error.message}`]);
  }
}

/** The policy file named, else the version of CPOR_POLICY (or the bundled policies) the input names or that is in effect at asOf. */
async function policyFor(input: EvaluationInput, options: EvaluateCommandOptions, env: NodeJS.ProcessEnv, clock: Clock): Promise<CompiledPolicy> {
  if (options.policy !== undefined) return loadCompiledPolicy(resolve(options.policy));
  const registry = await createPolicyRegistry({ path: defaultPolicyPath(env), clock });
  return resolvePolicyVersion(registry, { at: new Date(input.asOf), requested: input.policyVersion, now: clock.now() });
}

interface LocatedText {
  data: unknown;
  syntax?: { line: number; column: number; message: string };
  /** `LINE:COLUMN` of a JSONPath's value (of its key, for a map entry), else of its nearest present ancestor. */
  position(path: string): string;
}

/** Parses JSON or YAML (JSON is YAML) keeping node positions. */
function locateIn(text: string): LocatedText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const position = (path: string) => {
    const { line, column } = at(offsetOfPath(doc, segmentsOfJsonPath(path), 'key'));
    return `${line}:${column}`;
  };
  const error = doc.errors[0];
  if (error) return { data: undefined, syntax: { ...at(error.pos[0]), message: error.message.split('\n')[0]! }, position };
  return { data: doc.toJS({ maxAliasCount: 100 }), position };
}
