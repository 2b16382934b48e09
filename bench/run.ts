/**
 * `npm run bench`: the product's speed targets, each measured beside a baseline in
 * the same run (machines here are shared and noisy: ratios, not absolute numbers).
 *
 *   1. requests/s through POST /v1/evaluate   vs a bare Express JSON echo route   (goal ≥ 70%)
 *   2. in-process evaluations/s (evaluateClaim) vs raw json-rules-engine, same rules (goal: overhead < 25%);
 *      then CPU per evaluation over a mix of claims, rule cache off (cold) vs on, and its hit rate
 *   3. time to backtest 10,000 stored claims (SQLite)                              (goal < 30 s)
 *   4. start-up: `cpor --version` (the compiled build) vs `node -e 0`, and vs the sources
 *      through tsx as bin/cpor.mjs ran them before the build                      (goal < 50% of tsx)
 *   5. the dashboard: its JS and CSS (gzip); My claims usable for a partner with 10,000 claims
 *      (chromium, `cpor serve` on SQLite) beside the API call it makes                (bench/dashboard.ts)
 *   6. scale-out: creations and actions per second through real `cpor serve` processes, one and
 *      two instances on PostgreSQL and one on SQLite (bench/scale-out.ts)
 *   7–8. deadline firings/s with one and two instances on PostgreSQL; list pages at depth
 *      1,000 and 90,000 among 100,000 claims vs the first page, SQLite and PostgreSQL (goal ≤ 2×);
 *      search (`q`) on the index of migration 007 vs the scan before it (bench/work-sharing.ts)
 *
 * Options: BENCH_SECONDS (per HTTP/in-process round, default 4), BENCH_CLAIMS (default 10000),
 * BENCH_ROUNDS (start-up runs of each command, default 7), BENCH_ONLY=http|engine|backtest|startup|dashboard|scale|sharing
 * (or the section as an argument: `npm run bench -- startup`).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import express from 'express';
import { Engine } from 'json-rules-engine';
import { pino } from 'pino';
import { createHs256Authenticator } from '../src/auth/jwt-authenticator';
import { mintToken } from '../src/auth/mint-token';
import { runBacktest } from '../src/backtest/backtest';
import { createClaimService } from '../src/claims/claim-service';
import { compilePolicy, type CompiledPolicy } from '../src/policies/compiled-policy';
import { evaluateClaim, type EvaluationInput } from '../src/evaluation/evaluate-claim';
import { createRuleResultCache } from '../src/evaluation/rule-result-cache';
import { createMemoryClaimStore } from '../src/claims/memory-claim-store';
import { singlePolicySource } from '../src/policies/policy-source';
import { createDatabase, migrateLatest } from '../src/db/database';
import { createKnexClaimStore } from '../src/db/knex-claim-store';
import { createApp } from '../src/http/app';
import { createMemoryIdempotencyStore } from '../src/idempotency/memory-idempotency-store';
import { createFsPoeFileStore } from '../src/poe/fs-poe-file-store';
import { computeFacts } from '../src/rules/facts';
import { loadPolicyFile } from '../src/rules/load-policy';
import type { Condition, Policy } from '../src/rules/policy-types';
import { createSequentialIds, createVirtualClock } from '../src/simulate/run-scenario';
import { BUNDLED_POLICY_DIR } from '../src/simulate/policy-files';
import { benchDashboard } from './dashboard';
import { loadInWorker } from './load';
import { benchScaleOut } from './scale-out';
import { benchWorkSharing } from './work-sharing';
// @ts-expect-error: plain JavaScript module without type declarations
import { distIsCurrent } from '../scripts/dist-state.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 10_000);
const ROUNDS = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 7));
const ONLY = process.env.BENCH_ONLY ?? process.argv[2];
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

/** Runs `fn` back to back for `seconds`; answers calls per second. */
async function rate(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await fn();
    n += 50;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Best of `rounds` alternating measurements of a and b (alternating spreads the machine's noise over both). */
async function alternate(rounds: number, a: () => Promise<number>, b: () => Promise<number>) {
  let bestA = 0;
  let bestB = 0;
  for (let i = 0; i < rounds; i++) {
    bestA = Math.max(bestA, await a());
    bestB = Math.max(bestB, await b());
  }
  return [bestA, bestB] as const;
}

function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${address.port}` });
    });
  });
}

async function benchHttp(policy: CompiledPolicy) {
  const secret = new Uint8Array(randomBytes(32));
  const store = createMemoryClaimStore();
  const dir = mkdtempSync(join(tmpdir(), 'cpor-bench-'));
  const service = createClaimService({ store, policy, clock: { now: () => new Date() } });
  const app = createApp({
    service,
    store,
    policies: { ...singlePolicySource(policy), list: () => [] },
    files: createFsPoeFileStore(join(dir, 'poe')),
    idempotency: createMemoryIdempotencyStore(),
    authenticator: createHs256Authenticator({ secret, roles: policy.policy.roles }),
    logger: pino({ level: 'silent' }),
  } as Parameters<typeof createApp>[0]);
  const echo = express();
  echo.post('/echo', express.json(), (req, res) => {
    res.json(req.body);
  });
  const api = await listen(app);
  const bare = await listen(echo);
  const token = await mintToken({ secret, role: 'reviewer', subject: 'bench' });
  const body = JSON.stringify(INPUT);
  const common = { method: 'POST' as const, body, connections: 32, durationMs: SECONDS * 1000, expectStatus: 200 };
  // Warm both up (JIT, pools) before measuring.
  await loadInWorker({ ...common, durationMs: 1000, url: `${api.url}/v1/evaluate`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  await loadInWorker({ ...common, durationMs: 1000, url: `${bare.url}/echo`, headers: { 'content-type': 'application/json' } });
  const [echoRps, evaluateRps] = await alternate(
    2,
    async () => (await loadInWorker({ ...common, url: `${bare.url}/echo`, headers: { 'content-type': 'application/json' } })).perSecond,
    async () => {
      const result = await loadInWorker({ ...common, url: `${api.url}/v1/evaluate`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
      if (result.errors > 0) throw new Error(`/v1/evaluate answered ${result.errors} errors`);
      return result.perSecond;
    },
  );
  api.server.close();
  bare.server.close();
  rmSync(dir, { recursive: true, force: true });
  const ratio = evaluateRps / echoRps;
  console.log(`1. HTTP   POST /v1/evaluate ${fmt(evaluateRps)} req/s  vs bare Express echo ${fmt(echoRps)} req/s  → ${pct(ratio)} (goal ≥ 70%) ${ratio >= 0.7 ? 'MET' : 'NOT MET'}`);
}

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
  const fields = INPUT.claim.fields;
  const poe = INPUT.claim.poe!.map((p, i) => ({ fileName: 'poe.pdf', ...p, id: `poe-${i}`, uploadedAt: INPUT.asOf, uploadedBy: 'x' }));
  // The raw engine gets its facts ready-made: everything else evaluateClaim does counts as overhead.
  const facts = computeFacts({ fields, poe, status: 'underReview', asOfDate: '2026-03-06' });
  const raw = () => engine.run({ ...facts });
  const ours = () => evaluateClaim(policy, INPUT);
  await rate(raw, 1);
  await rate(ours, 1);
  const [rawRate, ourRate] = await alternate(3, () => rate(raw, SECONDS), () => rate(ours, SECONDS));
  const overhead = rawRate / ourRate - 1;
  console.log(`2. Engine evaluateClaim ${fmt(ourRate)}/s  vs raw json-rules-engine ${fmt(rawRate)}/s  → overhead ${pct(overhead)} (goal < 25%) ${overhead < 0.25 ? 'MET' : 'NOT MET'}`);
}

/**
 * A mix of evaluation requests as page views make them: MIX requests over a smaller set of
 * claims (activity, products, PoE count and signature varied), each seen several times.
 */
function evaluationMix(count: number): EvaluationInput[] {
  const activities = ['preSales', 'deployment', 'usage', 'revenueAssociation'] as const;
  const productSets = [
    [{ line: 'microsoft365', workload: 'teams' }],
    [{ line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-001' }],
    INPUT.claim.fields.products!,
  ];
  let seed = 17;
  const next = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
  return Array.from({ length: count }, () => ({
    ...INPUT,
    claim: {
      ...INPUT.claim,
      fields: { ...INPUT.claim.fields, activity: activities[next(4)]!, products: productSets[next(3)] as never },
      poe: Array.from({ length: next(4) }, () => ({ ...INPUT.claim.poe![0]!, customerSigned: next(4) !== 0 })),
    },
  }));
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

async function benchBacktest(policy: CompiledPolicy) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-bt-'));
  const seedStart = performance.now();
  const { knex, store, until } = await seedClaims(policy, CLAIMS, dataDir);
  const seeded = (performance.now() - seedStart) / 1000;
  const candidate = compilePolicy({
    ...structuredClone(policy.policy),
    version: 'bench-candidate',
    deadlines: { ...structuredClone(policy.policy.deadlines), partnerResponse: { ...policy.policy.deadlines.partnerResponse!, businessDays: 10 } },
  } as Policy);
  const start = performance.now();
  const report = await runBacktest({ store, policies: singlePolicySource(policy), candidate, until });
  const seconds = (performance.now() - start) / 1000;
  await knex.destroy();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(
    `3. Backtest ${fmt(report.totals.claims)} stored claims (SQLite) in ${seconds.toFixed(1)} s, ${fmt(report.totals.claims / seconds)} claims/s, ${fmt(report.totals.changed)} changed (goal < 30 s) ${seconds < 30 ? 'MET' : 'NOT MET'}   [seeding took ${seeded.toFixed(1)} s, not counted]`,
  );
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

function spread(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return { min: sorted[0]!, median, max: sorted.at(-1)! };
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
if (!ONLY || ONLY === 'http') await benchHttp(policy);
if (!ONLY || ONLY === 'engine') {
  await benchEngine(policy);
  await benchEvaluationCache(policy);
}
if (!ONLY || ONLY === 'backtest') await benchBacktest(policy);
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
process.exit(0);
