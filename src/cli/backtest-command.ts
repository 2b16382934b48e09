/** `cpor backtest`: replays the configured database's claims under a candidate policy and reports what would change. */
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createReportWriter, STREAM_FORMATS, type StreamFormat } from '../backtest/report-stream';
import type { Clock } from '../claims/claim-service';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { ConfigError, loadConfig, type Config } from '../config';
import { knexClaimSource } from '../db/backtest-batches';
import { PolicyError, formatIssue } from '../rules/load-policy';
import { createPolicyRegistry, type PolicyRegistry } from '../policies/policy-registry';
import { openExistingDatabase } from './service-config';
import { loadCompiledPolicy, PACKAGE_ROOT, PolicyLoadError } from '../simulate/policy-files';
import { systemClock } from '../system-clock';
import { shipPolicies } from '../simulate/shipped-policies';
import { runParallelBacktest, streamSink, type ParallelBacktestResult } from '../workers/parallel-backtest';
import { createWorkerPool } from '../workers/worker-pool';
import { parseInstant, parseLocalDate } from '../domain/instants';
import type { Output } from './output';

export const BACKTEST_FORMATS = STREAM_FORMATS;
export type BacktestFormat = StreamFormat;

/** A shard's time budget on the command line: none to speak of (setTimeout's longest, ~24 days). */
const NO_TIME_BUDGET_MS = 2 ** 31 - 1;

export interface BacktestCommandOptions {
  /** The candidate policy file. */
  policy: string;
  /** YYYY-MM-DD (00:00 in the policy calendar's time zone) or an ISO-8601 instant. */
  since?: string;
  /** ISO-8601 instant; default now. */
  until?: string;
  format?: string;
  /** Write the report here (and the summary to stdout). */
  out?: string;
  /** Exit 1 when a claim changes (or could not be compared). */
  exitCode?: boolean;
  /** Worker threads replaying claims (default: the machine's cores). */
  workers?: string;
  /** Exit 1 when the candidate's evaluation time exceeds the baseline's by more than this percentage. */
  maxLatencyIncrease?: string;
}

export interface BacktestCommandDeps {
  env?: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal: a redrawn progress bar, else plain progress lines. */
  stderrIsTTY?: boolean;
  clock?: Clock;
  /** Milliseconds for elapsed times (progress). */
  stopwatch?: () => number;
}

export async function backtestCommand(options: BacktestCommandOptions, out: Output, deps: BacktestCommandDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const stopwatch = deps.stopwatch ?? (() => performance.now());
  const usage = (message: string) => {
    out.stderr(`cpor backtest: ${message}\n`);
    return 2;
  };

  const format = (options.format ?? 'text') as BacktestFormat;
  if (!BACKTEST_FORMATS.includes(format)) return usage(`--format must be one of ${BACKTEST_FORMATS.join(', ')}, not "${options.format}"`);
  if (options.until !== undefined && !validInstant(options.until)) {
    return usage(`--until must be an ISO-8601 instant with a time zone (2026-06-01T00:00:00Z), not "${options.until}"`);
  }
  if (options.since !== undefined && !validInstant(options.since) && !validDate(options.since)) {
    return usage(`--since must be a date (2026-03-01) or an ISO-8601 instant, not "${options.since}"`);
  }
  let workers = availableParallelism();
  if (options.workers !== undefined) {
    workers = Number(options.workers);
    if (!/^\d+$/.test(options.workers) || workers < 1 || workers > 64) {
      return usage(`--workers must be a whole number from 1 to 64, not "${options.workers}"`);
    }
  }
  let maxLatencyIncrease: number | undefined;
  if (options.maxLatencyIncrease !== undefined) {
    maxLatencyIncrease = Number(options.maxLatencyIncrease);
    if (!/^\d+(\.\d+)?$/.test(options.maxLatencyIncrease)) {
      return usage(`--max-latency-increase must be a percentage (25 or 12.5), not "${options.maxLatencyIncrease}"`);
    }
  }
  const until = options.until !== undefined ? new Date(options.until) : clock.now();

  const candidatePath = resolve(options.policy);
  let candidate: CompiledPolicy;
  try {
    candidate = await loadCompiledPolicy(candidatePath);
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    out.stderr(`cpor backtest: the candidate policy ${options.policy} does not load:\n${error.message}\n`);
    return 1;
  }

  let config: Config;
  try {
    // The service's default too: every policy version bundled under policies/.
    config = loadConfig(env, { policyPath: resolve(PACKAGE_ROOT, 'policies') });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    out.stderr(`cpor backtest: ${error.message}\n`);
    return 1;
  }
  let policies: PolicyRegistry;
  try {
    policies = await createPolicyRegistry({ path: config.policyPath, clock });
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    out.stderr(`cpor backtest: the service's policies (${config.policyPath}) do not load:\n${error.issues.map(formatIssue).join('\n')}\n`);
    return 1;
  }

  let since: Date | undefined;
  if (options.since !== undefined) {
    since = validDate(options.since) ? policies.current(until).calendar.startOfLocalDay(options.since) : new Date(options.since);
  }

  const opened = await openExistingDatabase(config);
  if ('problem' in opened) {
    policies.stop();
    out.stderr(`cpor backtest: ${opened.problem}\n`);
    return 1;
  }
  const { knex } = opened;
  const head = {
    candidate: { id: candidate.policy.id, version: candidate.policy.version },
    until: until.toISOString(),
    since: since ? since.toISOString() : null,
  };
  // The report streams to --out (a file, written as results come) or to stdout; with --out, a summary to stdout too.
  const file = options.out !== undefined ? createWriteStream(options.out) : undefined;
  const writers = [createReportWriter(format, head, file ? streamSink(file) : out.stdout)];
  if (file) writers.push(createReportWriter('text', head, out.stdout));
  const pool = createWorkerPool({ size: workers, timeoutMs: NO_TIME_BUDGET_MS });
  let result: ParallelBacktestResult;
  try {
    const progress = progressReporter(out, deps.stderrIsTTY ?? process.stderr.isTTY === true, stopwatch);
    result = await runParallelBacktest({
      source: knexClaimSource(knex, since),
      pool,
      workers,
      candidate: candidate.policy,
      policies: shipPolicies(policies, until),
      until,
      ...(since ? { since } : {}),
      latency: true,
      ruleCacheEntries: config.evaluationCacheSize,
      onResult: async (claim) => {
        for (const writer of writers) await writer.claim(claim);
      },
      onProgress: progress,
    });
    for (const writer of writers) await writer.end(result);
  } finally {
    await pool.close();
    policies.stop();
    await knex.destroy();
    if (file) await new Promise<void>((done) => file.end(done));
  }

  const { totals, latency } = result;
  if (totals.skipped > 0) {
    out.stderr(`cpor backtest: ${totals.skipped} claim(s) could not be compared (see "skipped" in the report)\n`);
  }
  if (maxLatencyIncrease !== undefined && latency && latency.increasePct > maxLatencyIncrease) {
    out.stderr(
      `cpor backtest: the candidate's evaluation time is ${latency.increasePct.toFixed(1)}% above the baseline's on the same ${latency.claims} claims ` +
        `(median ${latency.baseline.medianMs.toFixed(2)} → ${latency.candidate.medianMs.toFixed(2)} ms per claim); --max-latency-increase allows ${maxLatencyIncrease}%\n`,
    );
    return 1;
  }
  return options.exitCode && (totals.changed > 0 || totals.skipped > 0) ? 1 : 0;
}

const validInstant = (text: string) => parseInstant(text).ok;
const validDate = (text: string) => parseLocalDate(text).ok;

const BAR_WIDTH = 20;
const REDRAW_MS = 100;

/**
 * Progress on stderr: on a terminal a bar redrawn in place (`[#####.....] 512/10000
 * claims  12.3 s`); otherwise a plain line at every tenth of the way, without
 * control characters, so logs stay readable.
 */
export function progressReporter(out: Output, isTTY: boolean, stopwatch: () => number): (done: number, total: number) => void {
  const started = stopwatch();
  let lastDraw = -Infinity;
  let lastTenth = -1;
  const line = (done: number, total: number) =>
    `${done}/${total} claims  ${((stopwatch() - started) / 1000).toFixed(1)} s`;
  return (done, total) => {
    if (isTTY) {
      const now = stopwatch();
      if (done < total && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      const filled = total === 0 ? BAR_WIDTH : Math.floor((done / total) * BAR_WIDTH);
      out.stderr(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${line(done, total)}${done === total ? '\n' : ''}`);
      return;
    }
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    out.stderr(`backtest: ${line(done, total)}\n`);
  };
}
