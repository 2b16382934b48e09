/**
 * The streaming backtest's memory: `cpor backtest` over 1k and over 20k stored claims (SQLite),
 * each in a child process of its own that reports its peak resident set (main thread and
 * worker threads); the report is written as it comes, so the peak does not follow the count.
 * And the latency check: `--max-latency-increase` fails a candidate with heavier rules.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtestCommand } from '../../src/cli/backtest-command';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { loadCompiledPolicy } from '../../src/simulate/policy-files';
import { BACKTEST_SEED_UNTIL, seedBacktestDatabase } from '../support/backtest-seed';
import { stringify } from 'yaml';
import { BUNDLED_POLICY_PATH, bundledPolicyData, policyYaml } from '../support/policy-factory';

const ROOT = resolve(import.meta.dirname, '..', '..');
let bundled: CompiledPolicy;
let tempDir: string;
const dataDirs: Record<number, string> = {};

beforeAll(async () => {
  bundled = await loadCompiledPolicy(BUNDLED_POLICY_PATH);
  tempDir = mkdtempSync(join(tmpdir(), 'cpor-bt-memory-'));
  for (const count of [1_000, 20_000]) {
    dataDirs[count] = join(tempDir, String(count));
    const { knex } = await seedBacktestDatabase(bundled, count, dataDirs[count]);
    await knex.destroy();
  }
}, 300_000);

afterAll(() => {
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

/** Runs `cpor backtest` in a child process (from the sources, as tsx runs them); answers its exit code, report lines and peak RSS in MiB. */
function backtestInChild(dataDir: string, args: string[]): Promise<{ code: number; peakMb: number; stdout: string; stderr: string }> {
  const script = `
    const { backtestCommand } = await import(${JSON.stringify(join(ROOT, 'src/cli/backtest-command.ts'))});
    const out = { stdout: () => {}, stderr: (s) => process.stderr.write(s) };
    const code = await backtestCommand(JSON.parse(process.env.BACKTEST_OPTIONS), out, { env: { DATA_DIR: ${JSON.stringify(dataDir)}, CPOR_POLICY: ${JSON.stringify(BUNDLED_POLICY_PATH)} } });
    process.stdout.write(JSON.stringify({ code, maxRssKb: process.resourceUsage().maxRSS }));
  `;
  const options = Object.fromEntries(args.map((arg) => arg.split('=')));
  return new Promise((done, fail) => {
    // A script file, not --eval: worker threads inherit the process's flags, and --input-type is for --eval only.
    const file = join(tempDir, 'backtest-child.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, BACKTEST_OPTIONS: JSON.stringify(options) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', () => {
      try {
        const { code, maxRssKb } = JSON.parse(stdout) as { code: number; maxRssKb: number };
        done({ code, peakMb: maxRssKb / 1024, stdout, stderr });
      } catch {
        fail(new Error(`the child did not report: ${stderr}`));
      }
    });
  });
}

describe('streaming backtest', () => {
  it('the backtest\'s peak memory does not grow with the number of claims (1k vs 20k)', async () => {
    const candidate = join(tempDir, 'candidate.yaml');
    writeFileSync(candidate, policyYaml({ version: '2026.2-candidate', deadlines: { partnerResponse: { businessDays: 10 } } }));
    const run = async (count: number) => {
      const report = join(tempDir, `report-${count}.json`);
      const result = await backtestInChild(dataDirs[count]!, [
        `policy=${candidate}`,
        `until=${BACKTEST_SEED_UNTIL.toISOString()}`,
        'format=json',
        `out=${report}`,
        'workers=2',
      ]);
      expect(result.code, result.stderr).toBe(0);
      const written = JSON.parse(readFileSync(report, 'utf8')) as { claims: unknown[]; totals: { claims: number; changed: number } };
      expect(written.claims).toHaveLength(count);
      expect(written.totals.changed).toBeGreaterThan(0);
      return result.peakMb;
    };
    const small = await run(1_000);
    const large = await run(20_000);
    // The one-core backtest held every claim's result: ~25 KB a claim, ~500 MB more at 20k.
    expect(large, `peak RSS 1k ${small.toFixed(0)} MiB, 20k ${large.toFixed(0)} MiB`).toBeLessThan(small + 64);
    expect(large).toBeLessThan(512);
  }, 600_000);
});

describe('--max-latency-increase', () => {
  let heavier: string;
  const run = async (policy: string, maxLatencyIncrease: string) => {
    let stderr = '';
    let stdout = '';
    const out = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };
    const code = await backtestCommand(
      { policy, until: BACKTEST_SEED_UNTIL.toISOString(), maxLatencyIncrease, workers: '1' },
      out,
      { env: { DATA_DIR: dataDirs[1_000]!, CPOR_POLICY: BUNDLED_POLICY_PATH } },
    );
    return { code, stderr, stdout };
  };

  beforeAll(() => {
    // Forty more deficiency rules, each a long `any` of comparisons no claim meets: every replayed step evaluates them.
    const data = bundledPolicyData();
    data.version = '2026.2-heavy';
    (data.deficiencies as object[]).push(
      ...Array.from({ length: 40 }, (_, i) => ({
        code: `heavyCheck${i}`,
        description: `Heavy check ${i}.`,
        when: { any: Array.from({ length: 25 }, (_, j) => ({ fact: 'poeCount', operator: 'equal', value: 1000 + i * 25 + j })) },
      })),
    );
    heavier = join(tempDir, 'heavier.yaml');
    writeFileSync(heavier, stringify(data));
  });

  it('a candidate with deliberately heavier rules exceeds the allowed increase: exit 1 and a line that says by how much', async () => {
    const { code, stderr, stdout } = await run(heavier, '25');
    expect(stderr).toMatch(/the candidate's evaluation time is \d+\.\d% above the baseline's on the same 1000 claims .*--max-latency-increase allows 25%/);
    expect(code).toBe(1);
    expect(stdout).toMatch(/evaluation time per claim over 1000 claims \(median \/ p90\): baseline [\d.]+ ms \/ [\d.]+ ms, candidate/);
  }, 300_000);

  it('the policy the claims follow, as its own candidate, stays within it: exit 0', async () => {
    const { code, stderr } = await run(BUNDLED_POLICY_PATH, '25');
    expect(stderr).not.toContain('above the baseline');
    expect(code).toBe(0);
  }, 300_000);
});
