import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCENARIO = join(ROOT, 'scenarios', 'partner-never-answers.yaml');

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('cpor test --coverage', () => {
  it('prints per-rule and per-condition coverage before the closing line', async () => {
    const { code, stdout } = await run('test', SCENARIO, '--coverage');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Coverage of policy cpor 2026\.1 \(1 scenario\): /);
    expect(stdout).toMatch(/^ {4}missingCustomerAcknowledgment +0 ✗ +6$/m);
    expect(stdout).toMatch(/^ {6}all\[1\] {2}signedPoeCount equal 0 +1 +5$/m);
    expect(stdout).toMatch(/^ {4}decisionTarget +0 ✗ +1 +1$/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('1 passed, 0 failed');
  });

  it('exits 1 when coverage is under --coverage-threshold, 0 at or above it', async () => {
    const under = await run('test', SCENARIO, '--coverage-threshold', '90');
    expect(under.code).toBe(1);
    expect(under.stderr).toMatch(/^cpor test: coverage of policy cpor 2026\.1 is \d+(\.\d)?%, under the threshold 90%$/m);
    const percent = Number(/coverage (\d+(?:\.\d)?)% \(/.exec(under.stdout)![1]);
    expect(percent).toBeLessThan(90);
    const at = await run('test', SCENARIO, '--coverage-threshold', String(percent));
    expect(at.code).toBe(0);
    expect(at.stderr).toBe('');
  });

  it('refuses a threshold that is not a percentage (exit 2)', async () => {
    for (const bad of ['abc', '101', '-1', '']) {
      const { code, stderr } = await run('test', SCENARIO, `--coverage-threshold=${bad}`);
      expect(code).toBe(2);
      expect(stderr).toContain('--coverage-threshold must be a percentage from 0 to 100');
    }
    expect((await run('test', SCENARIO, '--format', 'xml')).code).toBe(2);
  });

  it('--format json prints the results and the coverage report as one object', async () => {
    const { code, stdout } = await run('test', SCENARIO, '--format', 'json', '--coverage-threshold', '100');
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ passed: 1, failed: 0, skipped: 0, failures: [], coverage: { threshold: 100 } });
    const [policy] = report.coverage.policies;
    expect(policy.policy).toEqual({ id: 'cpor', version: '2026.1' });
    expect(policy.rules[0]).toMatchObject({ section: 'submissionRequirements', code: 'poeRequired', path: '$.submissionRequirements[0].when' });
    expect(Object.keys(policy.summary)).toEqual(['covered', 'total', 'percent', 'rules', 'conditions', 'deadlines', 'refusals']);
  });

  it('the bundled scenarios cover every rule, condition, deadline and refusal of the bundled policy (100%)', async () => {
    const { code, stdout, stderr } = await run('test', join(ROOT, 'scenarios'), '--coverage-threshold', '100', '--format', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { coverage } = JSON.parse(stdout);
    expect(coverage.summary).toMatchObject({ percent: 100 });
    expect(coverage.summary.covered).toBe(coverage.summary.total);
  }, 120_000);
});
