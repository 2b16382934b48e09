/** `cpor simulate` and `cpor test`: run scenario files and report. */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadScenarioFile } from '../simulate/scenario';
import { runScenario, type ScenarioResult } from '../simulate/run-scenario';
import type { Output } from './output';
import { defaultPolicyPath, loadCompiledPolicy, loadPolicySource, resolvePolicyPath } from '../simulate/policy-files';
import { createCoverageCollector, type CoverageCollector } from '../simulate/coverage-collector';
import { formatCoverage } from '../simulate/coverage-format';
import { renderTimelineSvg } from '../simulate/timeline-svg';
import { singlePolicySource, type PolicySource } from '../policies/policy-source';

interface ScenarioRun {
  result: ScenarioResult;
  /** The policy versions it ran under (none when the file or its policy did not load). */
  policies?: PolicySource;
}

/** Runs one scenario file; a file that cannot be read, parsed or whose policy is broken fails with the reason. */
async function simulateFile(file: string, policyOverride?: string, coverage?: CoverageCollector): Promise<ScenarioRun> {
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
  if (!loaded.ok) return { result: failed(loaded.error) };
  const named = policyOverride ?? (loaded.scenario.policy ? resolvePolicyPath(loaded.scenario.policy, file) : undefined);
  const policyPath = named ?? defaultPolicyPath();
  try {
    // A named policy runs alone; by default the claim follows the versions in effect, as in the service.
    const loadedPolicies = named ? singlePolicySource(await loadCompiledPolicy(named)) : await loadPolicySource(policyPath);
    const policies = coverage ? coverage.observeSource(loadedPolicies) : loadedPolicies;
    return { result: await runScenario(loaded.scenario, { file: shown, policies }), policies };
  } catch (error) {
    return { result: { ...failed(`policy ${relative(process.cwd(), policyPath)}: ${(error as Error).message}`), name: loaded.scenario.name } };
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
  options: { json?: boolean; policy?: string; svg?: string },
  out: Output,
): Promise<number> {
  const runs: ScenarioRun[] = [];
  for (const file of files) runs.push(await simulateFile(file, options.policy));
  const results = runs.map((run) => run.result);
  if (options.json) out.stdout(JSON.stringify(results, null, 2) + '\n');
  else out.stdout(results.map(formatResult).join('\n\n') + '\n');
  if (options.svg !== undefined) {
    const written = await writeTimelineSvg(runs[0]!, options.svg, out);
    if (!written) return 1;
  }
  return results.some((r) => r.passed === false) ? 1 : 0;
}

/** Draws the run under the version its claim followed; false (with the reason on stderr) when there is nothing to draw or the file cannot be written. */
async function writeTimelineSvg({ result, policies }: ScenarioRun, path: string, out: Output): Promise<boolean> {
  const compiled = policies?.get(result.policy);
  if (result.timeline.length === 0 || !compiled) {
    out.stderr(`cpor simulate: no picture: ${result.file} ran no step${result.failures.length ? ` (${result.failures[0]})` : ''}\n`);
    return false;
  }
  try {
    await writeFile(path, renderTimelineSvg(result, compiled));
  } catch (error) {
    out.stderr(`cpor simulate: cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return false;
  }
  out.stderr(`cpor simulate: wrote ${path}\n`);
  return true;
}

export interface TestOptions {
  policy?: string;
  verbose?: boolean;
  /** Report rule coverage (implied by a threshold). */
  coverage?: boolean;
  /** Exit 1 when the coverage of any policy version is under this percentage. */
  coverageThreshold?: number;
  format?: 'text' | 'json';
}

/**
 * Runs every scenario with an expectation under the paths; exit 1 when one fails (like `opa test`),
 * or when coverage is under the threshold.
 */
export async function testCommand(paths: string[], options: TestOptions, out: Output): Promise<number> {
  let files: string[];
  try {
    files = await scenarioFiles(paths);
  } catch (error) {
    out.stderr(`cpor test: ${(error as Error).message}\n`);
    return 2;
  }
  const json = options.format === 'json';
  const coverage = options.coverage || options.coverageThreshold !== undefined ? createCoverageCollector() : undefined;
  const text = (line: string) => {
    if (!json) out.stdout(line);
  };
  const failures: Array<{ file: string; name: string; failures: string[] }> = [];
  let passed = 0;
  let skipped = 0;
  for (const file of files) {
    const { result } = await simulateFile(file, options.policy, coverage);
    coverage?.addScenario(result);
    if (result.passed === null) {
      skipped += 1;
      if (options.verbose) text(`SKIP ${result.file} (no expect block)\n`);
    } else if (result.passed) {
      passed += 1;
      if (options.verbose) text(`PASS ${result.file}: ${result.name}\n`);
    } else {
      failures.push({ file: result.file, name: result.name, failures: result.failures });
      text(`FAIL ${result.file}: ${result.name}\n${result.failures.map((f) => `  - ${f}`).join('\n')}\n`);
    }
  }
  const report = coverage?.report();
  const threshold = options.coverageThreshold;
  // Each version must reach the threshold: one well-covered version does not hide another.
  const under = threshold === undefined || !report ? [] : report.policies.filter((p) => p.summary.percent < threshold);
  if (json) {
    const summary = { passed, failed: failures.length, skipped, failures };
    out.stdout(JSON.stringify(report ? { ...summary, coverage: { ...report, threshold: threshold ?? null } } : summary, null, 2) + '\n');
  } else {
    if (report) out.stdout(formatCoverage(report));
    out.stdout(`${passed} passed, ${failures.length} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
  for (const p of under) {
    out.stderr(`cpor test: coverage of policy ${p.policy.id} ${p.policy.version} is ${p.summary.percent}%, under the threshold ${threshold}%\n`);
  }
  return failures.length > 0 || files.length === 0 || under.length > 0 ? 1 : 0;
}
