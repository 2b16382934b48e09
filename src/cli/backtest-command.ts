/** `cpor backtest`: replays the configured database's claims under a candidate policy and reports what would change. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runBacktest, type BacktestReport } from '../backtest/backtest';
import { formatSummary, toCsv } from '../backtest/backtest-report';
import type { Clock } from '../claims/claim-service';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { ConfigError, loadConfig, type Config } from '../config';
import { createKnexClaimStore } from '../db/knex-claim-store';
import { PolicyError, formatIssue } from '../rules/load-policy';
import { createPolicyRegistry, type PolicyRegistry } from '../policies/policy-registry';
import { openExistingDatabase } from './service-config';
import { loadCompiledPolicy, PACKAGE_ROOT, PolicyLoadError } from '../simulate/policy-files';
import { systemClock } from '../system-clock';
import { parseInstant, parseLocalDate } from '../domain/instants';
import type { Output } from './output';

export const BACKTEST_FORMATS = ['text', 'json', 'csv'] as const;
export type BacktestFormat = (typeof BACKTEST_FORMATS)[number];

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
  concurrency?: string;
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
  let concurrency: number | undefined;
  if (options.concurrency !== undefined) {
    concurrency = Number(options.concurrency);
    if (!/^\d+$/.test(options.concurrency) || concurrency < 1 || concurrency > 64) {
      return usage(`--concurrency must be a whole number from 1 to 64, not "${options.concurrency}"`);
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
  let report: BacktestReport;
  try {
    const progress = progressReporter(out, deps.stderrIsTTY ?? process.stderr.isTTY === true, stopwatch);
    report = await runBacktest({
      store: createKnexClaimStore(knex),
      policies,
      candidate,
      until,
      since,
      concurrency,
      onProgress: progress,
    });
  } finally {
    policies.stop();
    await knex.destroy();
  }

  if (options.out !== undefined) {
    await writeFile(options.out, render(report, format, Infinity));
    out.stdout(formatSummary(report));
  } else {
    out.stdout(render(report, format));
  }
  if (report.skipped.length > 0) {
    out.stderr(`cpor backtest: ${report.skipped.length} claim(s) could not be compared (see "skipped" in the report)\n`);
  }
  return options.exitCode && (report.totals.changed > 0 || report.totals.skipped > 0) ? 1 : 0;
}

/** The report in a format; a text summary lists the first `maxClaims` changed claims. */
function render(report: BacktestReport, format: BacktestFormat, maxClaims?: number): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return toCsv(report);
  return formatSummary(report, { maxClaims });
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
