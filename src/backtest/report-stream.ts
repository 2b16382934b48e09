/**
 * Backtest reports written as the results come, claim by claim, with the totals at the
 * end: CSV (one row per claim, as toCsv), JSON Lines (one object per line, the last one
 * the totals) and JSON (one object, its `claims` array written element by element). A
 * writer keeps no claim: only skipped claims (up to MAX_SKIPPED_KEPT, for JSON's `skipped`)
 * and the first changed claims a text summary lists.
 */
import { csvHeader, csvRow, formatSummary } from './backtest-report';
import type { BacktestReport, ClaimBacktest, SkippedClaim } from './backtest';
import type { ClaimResult, LatencyFigures, StreamTotals } from './stream-backtest';

export const STREAM_FORMATS = ['text', 'json', 'jsonl', 'csv'] as const;
export type StreamFormat = (typeof STREAM_FORMATS)[number];

export interface ReportHead {
  candidate: { id: string; version: string };
  until: string;
  since: string | null;
}

export interface ReportTail {
  totals: StreamTotals;
  latency: LatencyFigures | null;
  /** How the workers' rule caches did (the untimed replays'); absent or null: no cache. */
  ruleCache?: { hits: number; misses: number } | null;
}

/** Where a writer's text goes; a promise holds the writer back until the sink has room. */
export type Sink = (chunk: string) => void | Promise<void>;

export interface ReportWriter {
  claim(result: ClaimResult): Promise<void>;
  end(tail: ReportTail): Promise<void>;
}

/** Skipped claims a JSON report or text summary lists; the totals count every one. */
const MAX_SKIPPED_KEPT = 1000;
/** Changed claims a text summary lists. */
const SUMMARY_CLAIMS = 50;

export function createReportWriter(format: StreamFormat, head: ReportHead, sink: Sink): ReportWriter {
  const skipped: SkippedClaim[] = [];
  const keepSkipped = (s: SkippedClaim) => {
    if (skipped.length < MAX_SKIPPED_KEPT) skipped.push(s);
  };
  switch (format) {
    case 'csv': {
      let started = false;
      return {
        async claim(result) {
          if (!started) {
            started = true;
            await sink(csvHeader());
          }
          if (result.kind === 'claim') await sink(csvRow(result.claim));
        },
        async end() {
          if (!started) await sink(csvHeader());
        },
      };
    }
    case 'jsonl':
      return {
        async claim(result) {
          await sink(`${JSON.stringify(result.kind === 'claim' ? { type: 'claim', ...result.claim } : { type: 'skipped', ...result.skipped })}\n`);
        },
        async end(tail) {
          await sink(`${JSON.stringify({ type: 'totals', ...head, ...tail })}\n`);
        },
      };
    case 'json': {
      let first = true;
      let opened = false;
      const open = async () => {
        if (opened) return;
        opened = true;
        await sink(`{"candidate":${JSON.stringify(head.candidate)},"until":${JSON.stringify(head.until)},"since":${JSON.stringify(head.since)},"claims":[`);
      };
      return {
        async claim(result) {
          await open();
          if (result.kind === 'skipped') return keepSkipped(result.skipped);
          await sink(`${first ? '\n' : ',\n'}${JSON.stringify(result.claim)}`);
          first = false;
        },
        async end(tail) {
          await open();
          await sink(`\n],"skipped":${JSON.stringify(skipped)},"totals":${JSON.stringify(tail.totals)},"latency":${JSON.stringify(tail.latency)}}\n`);
        },
      };
    }
    case 'text': {
      const changed: ClaimBacktest[] = [];
      let moreChanged = 0;
      return {
        claim(result) {
          if (result.kind === 'skipped') keepSkipped(result.skipped);
          else if (result.claim.changed) {
            if (changed.length < SUMMARY_CLAIMS) changed.push(result.claim);
            else moreChanged += 1;
          }
          return Promise.resolve();
        },
        async end(tail) {
          const report: BacktestReport = { ...head, totals: tail.totals, claims: changed, skipped };
          let text = formatSummary(report, { maxClaims: SUMMARY_CLAIMS });
          if (moreChanged > 0) text += `… and ${moreChanged} more changed claims (the JSON and CSV reports list every claim)\n`;
          if (tail.latency) text += formatLatency(tail.latency);
          if (tail.ruleCache && tail.ruleCache.hits + tail.ruleCache.misses > 0) text += formatRuleCache(tail.ruleCache);
          await sink(text);
        },
      };
    }
  }
}

/** The rule cache's line of a summary: its hit rate over the untimed replays' rule-set evaluations. */
function formatRuleCache({ hits, misses }: { hits: number; misses: number }): string {
  const lookups = hits + misses;
  const rate = (hits / lookups) * 100;
  return `rule results from the cache: ${rate.toFixed(1)}% of ${lookups} rule-set evaluations (the timed claims ran every rule)\n`;
}

/** The latency lines of a summary: per claim, median and 90th percentile, baseline beside candidate. */
function formatLatency(latency: LatencyFigures): string {
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const sign = latency.increasePct >= 0 ? '+' : '';
  return (
    `evaluation time per claim over ${latency.claims} claims (median / p90): baseline ${ms(latency.baseline.medianMs)} / ${ms(latency.baseline.p90Ms)}, ` +
    `candidate ${ms(latency.candidate.medianMs)} / ${ms(latency.candidate.p90Ms)} (${sign}${latency.increasePct.toFixed(1)}% in total)\n`
  );
}
