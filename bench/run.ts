/**
 * `npm run bench`: the product's speed targets, each measured beside a baseline in
 * the same run (machines here are shared and noisy: ratios, not absolute numbers).
 *
 *   1. POST /v1/evaluate through `cpor serve` processes over generated claims, rule cache on and off, vs a
 *      bare Express echo process of the same bodies: req/s and server CPU per request (goal ≥ 70% on, ≥ 50% off)
 *      (bench/evaluate-http.ts)
 *   2. CPU per evaluation: evaluateClaim (cache off, decision only) vs raw json-rules-engine on the same
 *      rules and ready-made facts, over the same mix (goal: overhead < 10%);
 *      then CPU per evaluation over a mix of claims, rule cache off (cold) vs on, and its hit rate
 *   3. backtest of 10k and 100k stored claims (SQLite), parallel and streamed: claims/s, CPU per claim,
 *      peak RSS, 1M extrapolated (goals < 10 min, < 512 MB); the old one-core path beside (bench/backtest.ts)
 *   4. start-up: `cpor --version` (the compiled build) vs `node -e 0`, and vs the sources
 *      through tsx as bin/cpor.mjs ran them before the build                      (goal < 50% of tsx);
 *      `npm start` to a ready /healthz beside `node -e 0` and an empty package's `npm start` (goal < 500 ms)
 *   5. the dashboard: its JS and CSS (gzip); My claims usable for a partner with 10,000 claims
 *      (chromium, `cpor serve` on SQLite) beside the API call it makes                (bench/dashboard.ts)
 *   6. scale-out: creations and actions per second through real `cpor serve` processes, one and
 *      two instances on PostgreSQL and one on SQLite (bench/scale-out.ts)
 *   7–8. deadline firings/s with one and two instances on PostgreSQL; list pages at depth
 *      1,000 and 90,000 among 100,000 claims vs the first page, SQLite and PostgreSQL (goal ≤ 2×);
 *      search (`q`) on the index of migration 007 vs the scan before it (bench/work-sharing.ts)
 *   9. a lifecycle transition on SQLite, CPU time, vs the raw better-sqlite3 statements it needs (goal ≤ 3×) (bench/writes.ts)
 *  10. every list filter's page at depth 0, 50,000 and 99,900 among 100,000 claims vs the first unfiltered page,
 *      SQLite and PostgreSQL (goal ≤ 2×) (bench/lists.ts)
 *
 * Options: BENCH_SECONDS (per HTTP/in-process round, default 4), BENCH_HTTP_ROUNDS (default 5), BENCH_CLAIMS (default 10000),
 * BENCH_ROUNDS (start-up runs of each command, default 7), BENCH_STARTUP_BASELINE (a built checkout timed beside, see benchServeStart),
 * BENCH_ONLY=http|engine|backtest|startup|dashboard|scale|sharing|transition|lists
 * (or the section as an argument: `npm run bench -- startup`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Engine } from 'json-rules-engine';
import { createClaimService } from '../src/claims/claim-service';
import { compilePolicy, type CompiledPolicy } from '../src/policies/compiled-policy';
import { evaluateClaim, type EvaluationInput } from '../src/evaluation/evaluate-claim';
import { createRuleResultCache } from '../src/evaluation/rule-result-cache';
import { createMemoryClaimStore } from '../src/claims/memory-claim-store';
import { createDatabase, migrateLatest } from '../src/db/database';
import { createKnexClaimStore } from '../src/db/knex-claim-store';
import { computeFacts } from '../src/rules/facts';
import { loadPolicyFile } from '../src/rules/load-policy';
import type { Condition, Policy } from '../src/rules/policy-types';
import { createSequentialIds, createVirtualClock } from '../src/simulate/run-scenario';
import { BUNDLED_POLICY_DIR } from '../src/simulate/policy-files';
import { benchBacktestSection } from './backtest';
import { benchDashboard } from './dashboard';
import { benchEvaluateHttp } from './evaluate-http';
import { benchLists } from './lists';
import { evaluationMix } from './evaluation-mix';
import { benchScaleOut } from './scale-out';
import { createNpmFloor, timeNodeNothing, timeServeStartup } from './serve-startup';
import { benchWorkSharing } from './work-sharing';
import { benchTransition } from './writes';
// @ts-expect-error: plain JavaScript module without type declarations
import { distIsCurrent } from '../scripts/dist-state.mjs';
import { spread } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 10_000);
const ROUNDS = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 7));
const ONLY = process.env.BENCH_ONLY ?? process.argv[2];
const SECTIONS = ['http', 'engine', 'backtest', 'startup', 'dashboard', 'scale', 'sharing', 'transition', 'lists'];
if (ONLY === '--help' || ONLY === '-h') {
  console.log(
    'Usage: npm run bench [-- <section>]\n\n' +
      'Measures the speed targets, each beside its baseline in the same run (README: Performance).\n' +
      `Sections: ${SECTIONS.join(', ')} (default: all).\n` +
      'Settings (environment): BENCH_SECONDS, BENCH_HTTP_ROUNDS, BENCH_CLAIMS, BENCH_ROUNDS, BENCH_STARTUP_BASELINE,\n' +
      'BENCH_BACKTEST_SIZES, BENCH_BACKTEST_ROUNDS, BENCH_BACKTEST_BIG_ROUNDS, BENCH_BACKTEST_COLD_ROUNDS,\n' +
      'BENCH_TRANSITION_ROUNDS, BENCH_SCALE_ROUNDS, BENCH_CLIENTS; see the head of bench/run.ts and of each section\'s file.',
  );
  process.exit(0);
}
if (ONLY !== undefined && !SECTIONS.includes(ONLY)) {
  console.error(`bench: no section ${JSON.stringify(ONLY)}; the sections are ${SECTIONS.join(', ')} (npm run bench -- --help)`);
  process.exit(2);
}
/** Alternating rounds of the echo, cache on and cache off (the machine's other load drifts: more rounds, steadier medians). */
const HTTP_ROUNDS = Math.max(3, Number(process.env.BENCH_HTTP_ROUNDS ?? 5));
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

async function bundled(): Promise<CompiledPolicy> {
  const loaded = await loadPolicyFile(join(BUNDLED_POLICY_DIR, 'cpor.yaml'));
  if (!loaded.ok) throw new Error('bundled policy does not load');
  return compilePolicy(loaded.policy);
}

/** An underReview claim with a PoE and a three-step history: a typical evaluation request. */
const INPUT: EvaluationInput = {
  claim: {
    fields: {
      partnerId: '4512345',
      mpnId: '4512345',
      customer: { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01', domain: 'contoso.com', name: 'Contoso' },
      activity: 'deployment',
      products: [
        { line: 'microsoft365', workload: 'teams' },
        { line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-001' },
      ],
      customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
      partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
    },
    status: 'underReview',
    poe: [{ fileName: 'sow.pdf', customerSigned: true, signedOn: '2026-02-20', products: ['teams'], describesWork: true }],
    history: [
      { at: '2026-03-02T17:00:00.000Z', to: 'editing' },
      { at: '2026-03-02T17:10:00.000Z', to: 'submitted' },
      { at: '2026-03-04T17:00:00.000Z', to: 'underReview' },
    ],
  },
  asOf: '2026-03-06T17:00:00.000Z',
};

/** json-rules-engine with the same rules, built as a program manager would write it by hand. */
function rawEngine(policy: Policy): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  const rules: Array<[string, Condition]> = [
    ...policy.submissionRequirements.map((r) => [r.code, r.when] as [string, Condition]),
    ...policy.deficiencies.flatMap((d) => (d.when ? [[d.code, d.when] as [string, Condition]] : [])),
    ...policy.incentivePrograms.map((p) => [p.code, p.eligibility] as [string, Condition]),
  ];
  for (const [code, when] of rules) {
    const conditions = structuredClone('all' in when || 'any' in when ? when : { all: [when] });
    engine.addRule({ conditions: conditions as never, event: { type: code } });
  }
  return engine;
}

async function benchEngine(policy: CompiledPolicy) {
  const engine = rawEngine(policy.policy);
  const mix = evaluationMix(1000, 250);
  // The raw engine gets its facts ready-made: everything else evaluateClaim does counts as overhead.
  const facts = mix.map((input) =>
    computeFacts({ fields: input.claim.fields, poe: (input.claim.poe ?? []) as never, status: input.claim.status as never, asOfDate: input.asOf.slice(0, 10) }),
  );
  const cpu = async (run: () => Promise<unknown>) => {
    const before = process.cpuUsage();
    await run();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / mix.length;
  };
  const raw = () => cpu(async () => { for (const f of facts) await engine.run({ ...f }); });
  const ours = () => cpu(async () => { for (const input of mix) await evaluateClaim(policy, input, { explain: false }); });
  const explained = () => cpu(async () => { for (const input of mix) await evaluateClaim(policy, input); });
  for (let i = 0; i < 2; i++) for (const warm of [raw, ours, explained]) await warm();
  const samples = { raw: [] as number[], ours: [] as number[], explained: [] as number[] };
  // Rounds are short (a third of a second each): many of them, so the load's swings even out.
  const rounds = Math.max(25, SECONDS * 6);
  for (let i = 0; i < rounds; i++) {
    samples.raw.push(await raw());
    samples.ours.push(await ours());
    samples.explained.push(await explained());
  }
  const [r, o, e] = [spread(samples.raw), spread(samples.ours), spread(samples.explained)];
  const us = (x: { min: number; median: number; max: number }) => `median ${x.median.toFixed(1)} µs (min ${x.min.toFixed(1)}, max ${x.max.toFixed(1)})`;
  const overhead = o.median / r.median - 1;
  // Each round's pair ran back to back: its ratio cancels the load's drift between rounds.
  const paired = spread(samples.ours.map((ours, i) => ours / samples.raw[i]! - 1));
  console.log(`2. Engine CPU per evaluation over ${fmt(mix.length)} generated claims, ${rounds} alternating rounds: raw json-rules-engine ${us(r)}`);
  console.log(`         evaluateClaim, cache off, decision only ${us(o)} → overhead ${pct(overhead)} (min/min ${pct(o.min / r.min - 1)}; per round median ${pct(paired.median)}, min ${pct(paired.min)}, max ${pct(paired.max)}) (goal < 10%) ${overhead < 0.1 ? 'MET' : 'NOT MET'}`);
  console.log(`         evaluateClaim with explanations (?explain=full) ${us(e)}`);
}

/** CPU (user + system, this thread: the bench is single-threaded here) per evaluation of the mix, cache off vs on, 3 rounds each. */
async function benchEvaluationCache(policy: CompiledPolicy) {
  const mix = evaluationMix(2000);
  const round = async (size: number) => {
    const cache = createRuleResultCache(size);
    const before = process.cpuUsage();
    for (const input of mix) await evaluateClaim(policy, input, { cache });
    const used = process.cpuUsage(before);
    return { microseconds: (used.user + used.system) / mix.length, hitRate: cache.hits / (cache.hits + cache.misses), distinct: cache.size };
  };
  await round(0);
  await round(10_000);
  const cold: number[] = [];
  const cached: number[] = [];
  let hitRate = 0;
  let distinct = 0;
  for (let i = 0; i < 3; i++) {
    cold.push((await round(0)).microseconds);
    const warm = await round(10_000);
    cached.push(warm.microseconds);
    hitRate = warm.hitRate;
    distinct = warm.distinct;
  }
  const c = spread(cold);
  const w = spread(cached);
  const us = (s: { min: number; median: number; max: number }) => `median ${s.median.toFixed(0)} µs (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;
  console.log(
    `2b. Cache evaluateClaim CPU per evaluation over ${fmt(mix.length)} mixed requests, 3 rounds: cold (EVALUATION_CACHE_SIZE=0) ${us(c)}` +
      `  vs cached ${us(w)} → ${pct(w.median / c.median)} of cold, hit rate ${pct(hitRate)} (${distinct} distinct fact sets; a fresh cache each round)`,
  );
}

const PARTNER = { role: 'incentivesAdmin', partnerId: '4512345' };
const REVIEWER = { role: 'reviewer' };

/** Stores `count` claims with realistic histories in a SQLite file (built in memory, then copied in batches). */
async function seedClaims(policy: CompiledPolicy, count: number, dataDir: string) {
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const memory = createMemoryClaimStore();
  const service = createClaimService({ store: memory, policy, clock, ids: createSequentialIds() });
  const workloads = ['teams', 'exchange', 'sharePoint', 'intune'] as const;
  for (let i = 0; i < count; i++) {
    clock.set(new Date(Date.parse('2026-03-02T17:00:00Z') + i * 60_000));
    const workload = workloads[i % workloads.length]!;
    const { claim } = await service.create(PARTNER, {
      ...INPUT.claim.fields,
      activity: i % 3 === 0 ? 'usage' : 'deployment',
      products: [{ line: 'microsoft365', workload }],
    });
    await service.act(claim.id, 'uploadPoe', PARTNER, { fileName: 'sow.pdf', customerSigned: i % 7 !== 0, signedOn: '2026-02-20', products: [workload], describesWork: true });
    await service.act(claim.id, 'submit', PARTNER, {});
    await service.act(claim.id, 'startReview', REVIEWER, {});
    if (i % 4 === 0) {
      await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Signature page?' });
      if (i % 8 === 0) await service.act(claim.id, 'resubmit', PARTNER, {});
    } else {
      await service.act(claim.id, 'approve', REVIEWER, {});
    }
  }
  clock.set(new Date('2026-12-31T00:00:00Z'));
  await service.fireDue();
  const knex = createDatabase({ dataDir });
  await migrateLatest(knex);
  const store = createKnexClaimStore(knex);
  const ids = await memory.allClaimIds();
  for (let i = 0; i < ids.length; i += 500) {
    const batch = ids.slice(i, i + 500);
    const records = await Promise.all(batch.map(async (id) => ({ claim: (await memory.getClaim(id))!, history: await memory.listHistory(id) })));
    await store.transaction(async (tx) => {
      for (const { claim, history } of records) {
        await tx.insertClaim(claim);
        await tx.appendHistory(history);
      }
    });
  }
  return { knex, store, until: clock.now() };
}

const ROOT = resolve(import.meta.dirname, '..');

/** Wall-clock ms of one run of node with `args` in the project folder; throws unless it exits 0. */
function timeRun(args: string[]): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
  return ms;
}


async function benchStartup() {
  if (!(distIsCurrent as (root: string) => boolean)(ROOT)) throw new Error('dist/ is missing or older than src/: run `npm run build` first (npm run bench does)');
  const commands = {
    node: ['-e', '0'],
    compiled: ['bin/cpor.mjs', '--version'],
    // What bin/cpor.mjs did before the build: register tsx, import src/cli.ts, run main.
    tsx: ['--import', 'tsx', '--input-type=module', '-e', "process.exitCode = await (await import('./src/cli.ts')).main(['--version'])"],
  };
  const samples: Record<keyof typeof commands, number[]> = { node: [], compiled: [], tsx: [] };
  for (const args of Object.values(commands)) timeRun(args); // warm the file cache
  for (let i = 0; i < ROUNDS; i++) {
    // Alternating spreads the machine's noise over all three.
    for (const [name, args] of Object.entries(commands)) samples[name as keyof typeof commands].push(timeRun(args));
  }
  const node = spread(samples.node);
  const compiled = spread(samples.compiled);
  const tsx = spread(samples.tsx);
  const line = (label: string, s: ReturnType<typeof spread>) =>
    `${label} median ${fmt(s.median)} ms (min ${fmt(s.min)}, max ${fmt(s.max)}) = ${(s.median / node.median).toFixed(2)}× node -e 0`;
  const ratio = compiled.median / tsx.median;
  console.log(`4. Start  ${ROUNDS} runs each, beside node -e 0: median ${fmt(node.median)} ms (min ${fmt(node.min)}, max ${fmt(node.max)})`);
  console.log(`         ${line('cpor --version (dist/, plain node)      ', compiled)}`);
  console.log(`         ${line('cpor --version (src/ through tsx, before)', tsx)}`);
  console.log(`         compiled / tsx ${pct(ratio)} of the time (goal < 50%) ${ratio < 0.5 ? 'MET' : 'NOT MET'}`);
  await benchServeStart();
}

/**
 * `npm start` (and the `node bin/cpor.mjs serve` it execs) to a 200 from /healthz and /readyz, fresh
 * SQLite each run, beside `node -e 0` and beside `npm start` of an empty package (npm's own share of the
 * goal, which no code of the service can take back). BENCH_STARTUP_BASELINE names another checkout with its own
 * dist/ built (e.g. `git archive <commit> | tar -x -C DIR`, node_modules linked, `node scripts/build.mjs`
 * there): its `node bin/cpor.mjs serve` is timed in the same rounds, alternating, as "before".
 */
async function benchServeStart() {
  const rounds = Math.max(5, Math.min(ROUNDS, 7));
  const baseline = process.env.BENCH_STARTUP_BASELINE;
  const samples = {
    node: [] as number[],
    nodeCpu: [] as number[],
    direct: [] as number[],
    directCpu: [] as number[],
    npm: [] as number[],
    npmFloor: [] as number[],
    before: [] as number[],
    beforeCpu: [] as number[],
  };
  const npmFloor = createNpmFloor();
  try {
    for (let i = 0; i < rounds; i++) {
      const nothing = timeNodeNothing(ROOT);
      samples.npmFloor.push(npmFloor.time());
      samples.node.push(nothing.wallMs);
      if (nothing.cpuMs !== undefined) samples.nodeCpu.push(nothing.cpuMs);
      if (baseline) {
        const before = await timeServeStartup(baseline, process.execPath, ['bin/cpor.mjs', 'serve']);
        samples.before.push(before.wallMs);
        if (before.cpuMs !== undefined) samples.beforeCpu.push(before.cpuMs);
      }
      const direct = await timeServeStartup(ROOT, process.execPath, ['bin/cpor.mjs', 'serve']);
      samples.direct.push(direct.wallMs);
      if (direct.cpuMs !== undefined) samples.directCpu.push(direct.cpuMs);
      samples.npm.push((await timeServeStartup(ROOT, 'npm', ['start'])).wallMs);
    }
  } finally {
    npmFloor.dispose();
  }
  const s = (list: number[]) => {
    const { min, median, max } = spread(list);
    return `median ${fmt(median)} ms (min ${fmt(min)}, max ${fmt(max)})`;
  };
  const npm = spread(samples.npm);
  console.log(`4b. Serve ${rounds} runs each to a ready /healthz and /readyz (SQLite, fresh data folder): node -e 0 ${s(samples.node)}, its CPU ${s(samples.nodeCpu)}`);
  if (baseline) console.log(`         before (${baseline}) node bin/cpor.mjs serve ${s(samples.before)}, its CPU ${s(samples.beforeCpu)}`);
  console.log(`         node bin/cpor.mjs serve ${s(samples.direct)}, its CPU ${s(samples.directCpu)}`);
  const directCpu = spread(samples.directCpu);
  console.log(`         npm start ${s(samples.npm)} (goal < 500 ms) ${npm.median < 500 ? 'MET' : 'NOT MET'}`);
  const floor = spread(samples.npmFloor);
  console.log(
    `         npm start of an empty package (\`exec node -e 0\`) ${s(samples.npmFloor)}: npm and node before any code of the service runs, ` +
      `which leaves the service ${fmt(500 - floor.median)} ms of the goal`,
  );
  console.log(`         node bin/cpor.mjs serve: wall ${spread(samples.direct).median < 500 ? 'under' : 'over'} 500 ms, CPU ${directCpu.median < 500 ? 'under' : 'over'} 500 ms (medians); load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}`);
}

console.log(`cpor bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores; each figure beside its baseline in this run\n`);
if (ONLY === 'startup') {
  await benchStartup();
  process.exit(0);
}
if (ONLY === 'scale') {
  await benchScaleOut(5);
  process.exit(0);
}
const policy = await bundled();
if (!ONLY || ONLY === 'http') {
  if (!(distIsCurrent as (root: string) => boolean)(ROOT)) throw new Error('dist/ is missing or older than src/: run `npm run build` first (npm run bench does)');
  await benchEvaluateHttp({ seconds: SECONDS, rounds: HTTP_ROUNDS });
}
if (!ONLY || ONLY === 'engine') {
  await benchEngine(policy);
  await benchEvaluationCache(policy);
}
if (!ONLY || ONLY === 'backtest') await benchBacktestSection(policy);
if (!ONLY) await benchStartup();
if (!ONLY || ONLY === 'dashboard') {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-web-'));
  await benchDashboard(
    async (dir) => {
      const { knex } = await seedClaims(policy, CLAIMS, dir);
      await knex.destroy();
      return CLAIMS;
    },
    dataDir,
    PARTNER.partnerId,
  );
  rmSync(dataDir, { recursive: true, force: true });
}
if (!ONLY) await benchScaleOut(5);
if (!ONLY || ONLY === 'sharing') await benchWorkSharing(policy);
if (!ONLY || ONLY === 'transition') await benchTransition(policy);
if (!ONLY || ONLY === 'lists') await benchLists(policy);
process.exit(0);
