/** `cpor simulate` and `cpor test`: run scenario files and report. */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadScenarioFile } from '../simulate/scenario';
import { runScenario, type ScenarioResult } from '../simulate/run-scenario';
import type { Output } from './output';
import { defaultPolicyPath, loadCompiledPolicy, loadPolicySource, resolvePolicyPath } from '../simulate/policy-files';

/** Runs one scenario file; a file that cannot be read, parsed or whose policy is broken fails with the reason. */
async function simulateFile(file: string, policyOverride?: string): Promise<ScenarioResult> {
  const shown = relative(process.cwd(), file) || file;
  const failed = (message: string): ScenarioResult => ({
    name: shown,
    file: shown,
    policy: { id: '', version: '' },
    passed: false,
    failures: [message],
    final: { status: null, substatus: null, reason: null, overdue: [] },
    timeline: [],
    deadlines: [],
  });
  const loaded = await loadScenarioFile(file);
  if (!loaded.ok) return failed(loaded.error);
  const named = policyOverride ?? (loaded.scenario.policy ? resolvePolicyPath(loaded.scenario.policy, file) : undefined);
  const policyPath = named ?? defaultPolicyPath();
  try {
    // A named policy runs alone; by default the claim follows the versions in effect, as in the service.
    return named
      ? await runScenario(loaded.scenario, { file: shown, policy: await loadCompiledPolicy(named) })
      : await runScenario(loaded.scenario, { file: shown, policies: await loadPolicySource(policyPath) });
  } catch (error) {
    return { ...failed(`policy ${relative(process.cwd(), policyPath)}: ${(error as Error).message}`), name: loaded.scenario.name };
  }
}

/** Every *.yaml / *.yml file under the paths (files are taken as they are), sorted. */
export async function scenarioFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (!info.isDirectory()) {
      files.push(path);
      return;
    }
    for (const entry of (await readdir(path)).sort()) {
      const child = join(path, entry);
      if ((await stat(child)).isDirectory()) await walk(child);
      else if (/\.ya?ml$/.test(entry)) files.push(child);
    }
  };
  for (const path of paths) await walk(path);
  return files;
}

/** Readable form of one result: the timeline, the deadlines and the verdict. */
function formatResult(result: ScenarioResult): string {
  const lines = [`${result.name}  (${result.file}, policy ${result.policy.id} ${result.policy.version})`];
  for (const t of result.timeline) {
    const move = t.from === t.to ? `${t.to ?? '-'}` : `${t.from ?? '-'} → ${t.to}`;
    lines.push(`  ${t.at}  ${t.by.padEnd(16)} ${t.event.padEnd(20)} ${move}${t.refused ? `  REFUSED ${t.refused.code}: ${t.refused.message}` : ''}`);
  }
  if (result.deadlines.length) {
    lines.push('  deadlines:');
    for (const d of result.deadlines) lines.push(`    ${d.name.padEnd(16)} started ${d.startedAt}  due ${d.due}  ${d.outcome}`);
  }
  const f = result.final;
  lines.push(
    `  final: ${f.status ?? '-'}${f.substatus ? ` (${f.substatus})` : ''}${f.reason ? `, reason ${f.reason}` : ''}${f.overdue.length ? `, overdue ${f.overdue.join(', ')}` : ''}`,
  );
  if (result.passed === null) lines.push('  (no expect block)');
  else lines.push(result.passed ? '  PASS' : `  FAIL\n${result.failures.map((x) => `    - ${x}`).join('\n')}`);
  return lines.join('\n');
}

export async function simulateCommand(
  files: string[],
  options: { json?: boolean; policy?: string },
  out: Output,
): Promise<number> {
  const results: ScenarioResult[] = [];
  for (const file of files) results.push(await simulateFile(file, options.policy));
  if (options.json) out.stdout(JSON.stringify(results, null, 2) + '\n');
  else out.stdout(results.map(formatResult).join('\n\n') + '\n');
  return results.some((r) => r.passed === false) ? 1 : 0;
}

/** Runs every scenario with an expectation under the paths; exit 1 when one fails (like `opa test`). */
export async function testCommand(paths: string[], options: { policy?: string; verbose?: boolean }, out: Output): Promise<number> {
  let files: string[];
  try {
    files = await scenarioFiles(paths);
  } catch (error) {
    out.stderr(`cpor test: ${(error as Error).message}\n`);
    return 2;
  }
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of files) {
    const result = await simulateFile(file, options.policy);
    if (result.passed === null) {
      skipped += 1;
      if (options.verbose) out.stdout(`SKIP ${result.file} (no expect block)\n`);
    } else if (result.passed) {
      passed += 1;
      if (options.verbose) out.stdout(`PASS ${result.file}: ${result.name}\n`);
    } else {
      failed += 1;
      out.stdout(`FAIL ${result.file}: ${result.name}\n${result.failures.map((f) => `  - ${f}`).join('\n')}\n`);
    }
  }
  out.stdout(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  return failed > 0 || files.length === 0 ? 1 : 0;
}
