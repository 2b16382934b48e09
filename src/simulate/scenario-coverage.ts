/** Scenarios run for coverage: each under the policy versions given, their verdicts and the rule coverage, as `cpor test --coverage --format json` reports them. */
import type { PolicySource } from '../policies/policy-source';
import { createCoverageCollector, type CoverageReport } from './coverage-collector';
import { runScenario } from './run-scenario';
import type { Scenario } from './scenario';

export interface CoverageRun {
  passed: number;
  failed: number;
  /** Scenarios without expectations. */
  skipped: number;
  failures: Array<{ file: string; name: string; failures: string[] }>;
  coverage: CoverageReport & {
    threshold: number | null;
    /** Versions whose coverage is under the threshold (each must reach it). */
    under: Array<{ id: string; version: string; percent: number }>;
  };
}

/** Runs every scenario under `policies` and reports verdicts and coverage against an optional threshold (percent). */
export async function runCoverage(
  scenarios: ReadonlyArray<{ file: string; scenario: Scenario }>,
  policies: PolicySource,
  threshold?: number,
): Promise<CoverageRun> {
  const collector = createCoverageCollector();
  const observed = collector.observeSource(policies);
  const failures: CoverageRun['failures'] = [];
  let passed = 0;
  let skipped = 0;
  for (const { file, scenario } of scenarios) {
    const result = await runScenario(scenario, { file, policies: observed });
    collector.addScenario(result);
    if (result.passed === null) skipped += 1;
    else if (result.passed) passed += 1;
    else failures.push({ file, name: result.name, failures: result.failures });
  }
  const report = collector.report();
  const under =
    threshold === undefined
      ? []
      : report.policies.filter((p) => p.summary.percent < threshold).map((p) => ({ ...p.policy, percent: p.summary.percent }));
  return { passed, failed: failures.length, skipped, failures, coverage: { ...report, threshold: threshold ?? null, under } };
}
