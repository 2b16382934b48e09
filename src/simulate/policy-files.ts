/** Finding and compiling policy files for the CLI (cached per path). */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy, type CompiledPolicy } from '../policies/compiled-policy';
import { formatIssue, loadPolicyFile } from '../rules/load-policy';
import { createPolicyRegistry } from '../policies/policy-registry';
import type { PolicySource } from '../policies/policy-source';
import { systemClock } from '../system-clock';

/** The nearest folder at or above `dir` that holds a package.json. */
function packageRootOf(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at;
    if (dirname(at) === at) return dir;
  }
}

/** The project's root: where `policies/` and `scenarios/` are bundled (found from src/simulate/ and from the compiled dist/ alike). */
export const PACKAGE_ROOT = packageRootOf(dirname(fileURLToPath(import.meta.url)));

/** Where the policies in effect are when none is named: $CPOR_POLICY (a file or a folder of versions), else the bundled folder. */
export function defaultPolicyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CPOR_POLICY ? resolve(env.CPOR_POLICY) : resolve(PACKAGE_ROOT, 'policies');
}

/** Where the service looks for policy versions by default: the bundled policies/ folder. */
export const BUNDLED_POLICY_DIR = resolve(PACKAGE_ROOT, 'policies');

/** A scenario's `policy:` path: relative to the working directory, else to the scenario's folder, else to the project. */
export function resolvePolicyPath(path: string, scenarioFile: string): string {
  if (isAbsolute(path)) return path;
  for (const base of [process.cwd(), dirname(scenarioFile), PACKAGE_ROOT]) {
    const candidate = resolve(base, path);
    if (existsSync(candidate)) return candidate;
  }
  return resolve(path);
}

export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
}

const sources = new Map<string, Promise<PolicySource>>();

/**
 * The policy versions in a file or folder (not watched), for simulations that follow the
 * version in effect as their clock moves; a folder with no valid policy rejects with the errors.
 */
export function loadPolicySource(path: string): Promise<PolicySource> {
  const key = resolve(path);
  let source = sources.get(key);
  if (!source) {
    // The clock only stamps loadedAt: simulations never decide by it.
    source = createPolicyRegistry({ path: key, clock: systemClock });
    sources.set(key, source);
  }
  return source;
}

const cache = new Map<string, Promise<CompiledPolicy>>();

/** Loads and compiles a policy file; a broken one rejects with its located errors. */
export function loadCompiledPolicy(path: string): Promise<CompiledPolicy> {
  const key = resolve(path);
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = loadPolicyFile(key).then((result) => {
      if (!result.ok) throw new PolicyLoadError(result.errors.map(formatIssue).join('\n'));
      return compilePolicy(result.policy);
    });
    cache.set(key, compiled);
  }
  return compiled;
}
