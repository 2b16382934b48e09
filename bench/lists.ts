/**
 * `npm run bench -- lists`: every list filter's page (25) at depth 0, 50,000 and 99,900 among
 * BENCH_LIST_CLAIMS (default 100,000) claims, beside the first unfiltered page in the same
 * round (goal: within 2×), on SQLite and on a throwaway PostgreSQL cluster.
 *
 * Depth is a position in the list order of all claims (created_at, id): the page's cursor is
 * the claim just before it, as a client paging the unfiltered list and then filtering would
 * hold, so a filtered page at 99,900 has at most 100 claims left to find its rows among.
 * The claims are seeded cheaply (test/support/seed-claims.ts: rows of `claims` and their
 * search text only), and beside them overdue markers (`reviewStart`, a tenth of the claims)
 * and conflict markers (another tenth: `submitted` against an `underReview` rival), so the
 * overdue and conflicted filters have rows to find, spread evenly over the list order.
 *
 * BENCH_LIST_ROUNDS (default 3) rounds; in each, every filter's depths and the first
 * unfiltered page are taken in turn BENCH_LIST_RUNS (default 15) times after 3 to warm up,
 * and the round's median of each compared. Printed: min/median/max over the rounds of the
 * ratio to the first unfiltered page, and the median milliseconds; on SQLite by this process's
 * CPU time (the page's whole work, in process; judged on it) and by wall time, on PostgreSQL
 * by wall time and by the server's own execution time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { ClaimFilter } from '../src/claims/claim-store';
import { createDatabase, migrateLatest } from '../src/db/database';
import { createKnexClaimStore } from '../src/db/knex-claim-store';
import { overdueRows } from '../src/db/overdue-marker';
import type { CompiledPolicy } from '../src/policies/compiled-policy';
import { startPostgres } from '../test/support/postgres';
import { spread } from './stats';
import { claimTemplate, isPostgres, SEED_PARTNERS, SEED_TENANTS, seedClaims, seededClaim } from '../test/support/seed-claims';

const CLAIMS = Number(process.env.BENCH_LIST_CLAIMS ?? 100_000);
const ROUNDS = Math.max(3, Number(process.env.BENCH_LIST_ROUNDS ?? 3));
const RUNS = Math.max(5, Number(process.env.BENCH_LIST_RUNS ?? 15));
const PAGE = 25;
const DEPTHS = [0, 50_000, 99_900].map((d) => Math.round((d * CLAIMS) / 100_000));
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Seeded claim i is overdue on reviewStart / conflicted (both a tenth, all `submitted` claims: i ≡ 1 mod 4). */
const isOverdue = (i: number) => i % 20 === 1 || i % 20 === 9;
const isConflicted = (i: number) => i % 20 === 1 || i % 20 === 5;

async function seed(knex: Knex, policy: CompiledPolicy): Promise<number> {
  const start = performance.now();
  await migrateLatest(knex);
  await seedClaims(knex, policy, CLAIMS);
  const template = await claimTemplate(policy);
  const overdue = [];
  const markers = [];
  for (let i = 0; i < CLAIMS; i++) {
    const id = `seed-${String(i).padStart(7, '0')}`;
    if (isOverdue(i)) overdue.push(...overdueRows({ ...seededClaim(template, i), overdue: ['reviewStart'] }));
    if (isConflicted(i)) markers.push({ claim_id: id, created_at: seededClaim(template, i).createdAt, state: 'submitted', rival_states: '|underReview|' });
  }
  await knex.batchInsert('claim_overdue', overdue, 500);
  await knex.batchInsert('claim_conflicts', markers, 500);
  // Settle what a bulk load leaves to do (fresh statistics; PostgreSQL's autovacuum would otherwise run during the timings).
  await knex.raw(isPostgres(knex) ? 'VACUUM ANALYZE' : 'ANALYZE');
  return (performance.now() - start) / 1000;
}

/** Median wall and CPU ms of each case over RUNS, the cases taken in turn (the machine's noise falls on all alike), after 3 warm-up runs. */
async function medians(cases: Array<() => Promise<unknown>>): Promise<{ wall: number[]; cpu: number[] }> {
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (let run = -3; run < RUNS; run++) {
    for (const [i, fn] of cases.entries()) {
      const start = performance.now();
      const used = process.cpuUsage();
      await fn();
      const { user, system } = process.cpuUsage(used);
      if (run < 0) continue;
      wall[i]!.push(performance.now() - start);
      cpu[i]!.push((user + system) / 1000);
    }
  }
  return { wall: wall.map((s) => spread(s).median), cpu: cpu.map((s) => spread(s).median) };
}

/**
 * PostgreSQL's own execution and planning time of the last statement `call` sends (EXPLAIN ANALYZE, timing off), in ms:
 * the server's work without the round trip and the client, which the machine's load disturbs most.
 */
async function serverMs(knex: Knex, call: () => Promise<unknown>): Promise<{ execution: number; planning: number }> {
  let seen: { sql: string; bindings: readonly unknown[] } | undefined;
  const listener = (query: { sql: string; bindings?: readonly unknown[] }) => {
    seen = { sql: query.sql, bindings: query.bindings ?? [] };
  };
  knex.on('query', listener);
  try {
    await call();
  } finally {
    knex.off('query', listener);
  }
  if (!seen) throw new Error('no query was sent');
  // PostgreSQL's statements arrive with $1, $2 … in order; knex.raw binds `?`.
  const plan = (await knex.raw(`explain (analyze, timing off) ${seen.sql.replace(/\$\d+/g, '?')}`, seen.bindings as readonly Knex.RawBinding[])) as { rows: Array<Record<string, string>> };
  const lines = plan.rows.map((row) => row['QUERY PLAN']!);
  const ms = (label: string) => Number(/([\d.]+) ms/.exec(lines.find((text) => text.startsWith(label)) ?? '')?.[1] ?? Number.NaN);
  return { execution: ms('Execution Time:'), planning: ms('Planning Time:') };
}

async function listFilters(label: string, knex: Knex, policy: CompiledPolicy): Promise<void> {
  const seconds = await seed(knex, policy);
  const store = createKnexClaimStore(knex);
  const template = await claimTemplate(policy);
  const activeStatuses = policy.policy.conflicts?.activeStatuses;
  if (!activeStatuses) throw new Error('the bench needs a policy with conflicts (the bundled one has them)');
  const customer = template.snapshot.context.fields.customer!.name;
  const filters: Array<[string, Omit<ClaimFilter, 'limit' | 'after'>]> = [
    ['none', {}],
    ['status=submitted', { status: 'submitted' }],
    ['tenantId', { tenantId: SEED_TENANTS[1] }],
    ['partnerId', { partnerId: SEED_PARTNERS[1] }],
    ['partnerId+status', { partnerId: SEED_PARTNERS[1], status: 'submitted' }],
    ['overdue=reviewStart', { overdue: 'reviewStart' }],
    ['conflicted=true', { conflict: { conflicted: true, activeStatuses } }],
    ['conflicted=false', { conflict: { conflicted: false, activeStatuses } }],
    [`q=${customer.slice(0, 7)}`, { q: customer.slice(0, 7) }],
  ];
  const cursorAt = (depth: number) => {
    const last = seededClaim(template, depth - 1);
    return { createdAt: last.createdAt, id: last.id };
  };
  const page = (filter: Omit<ClaimFilter, 'limit' | 'after'>, depth: number) => async () => {
    const rows = await store.listClaims({ ...filter, ...(depth > 0 ? { after: cursorAt(depth) } : {}), limit: PAGE + 1 });
    if (depth === 0 && rows.length === 0) throw new Error(`${label}: ${JSON.stringify(filter)} finds no claims`);
    return rows;
  };
  const first = page({}, 0);
  // The page's cost by wall time and by this process's CPU time: on SQLite (in process) the CPU time is
  // the page's whole work and what the goal is judged on, as the machine's load disturbs wall time most;
  // on PostgreSQL the page's wall time (the server's work is not this process's CPU).
  const pg = isPostgres(knex);
  const measures = ['wall', 'cpu'] as const;
  // ratios[measure][filter][depth] over the rounds; ms likewise; the first unfiltered page's ms.
  const ratios = { wall: filters.map(() => DEPTHS.map(() => [] as number[])), cpu: filters.map(() => DEPTHS.map(() => [] as number[])) };
  const ms = { wall: filters.map(() => DEPTHS.map(() => [] as number[])), cpu: filters.map(() => DEPTHS.map(() => [] as number[])) };
  const firstMs = { wall: [] as number[], cpu: [] as number[] };
  // PostgreSQL: the server's execution time too, the median of 5 per round (the last statement of a page: the page itself).
  const serverRatios = filters.map(() => DEPTHS.map(() => [] as number[]));
  const serverTimes = filters.map(() => DEPTHS.map(() => [] as number[]));
  const firstServer: number[] = [];
  const planning = filters.map(() => DEPTHS.map(() => [] as number[]));
  const firstPlanning: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [f, [, filter]] of filters.entries()) {
      const taken = await medians([first, ...DEPTHS.map((d) => page(filter, d))]);
      for (const measure of measures) {
        const [base, ...times] = taken[measure];
        firstMs[measure].push(base!);
        for (const [d, t] of times.entries()) {
          ratios[measure][f]![d]!.push(t / base!);
          ms[measure][f]![d]!.push(t);
        }
      }
      if (!pg) continue;
      const runs = async (call: () => Promise<unknown>) => {
        const samples: Array<{ execution: number; planning: number }> = [];
        for (let i = 0; i < 5; i++) samples.push(await serverMs(knex, call));
        return { execution: spread(samples.map((s) => s.execution)).median, planning: spread(samples.map((s) => s.planning)).median };
      };
      const serverBase = await runs(first);
      firstServer.push(serverBase.execution);
      firstPlanning.push(serverBase.planning);
      for (const [d, depth] of DEPTHS.entries()) {
        const t = await runs(page(filter, depth));
        serverRatios[f]![d]!.push(t.execution / serverBase.execution);
        serverTimes[f]![d]!.push(t.execution);
        planning[f]![d]!.push(t.planning);
      }
    }
  }
  const judged = pg ? 'wall' : 'cpu';
  console.log(`   ${label}: ${fmt(CLAIMS)} claims seeded in ${seconds.toFixed(1)} s; load average ${loadavg().map((l) => l.toFixed(1)).join(', ')}`);
  for (const measure of pg ? (['wall'] as const) : (['cpu', 'wall'] as const)) {
    const f0 = spread(firstMs[measure]);
    const what = measure === 'cpu' ? 'CPU time' : 'wall time';
    console.log(`   ${label}, ${what}${measure === judged ? ' (the goal is judged on this)' : ''}: first unfiltered page ${fmt(f0.median, 3)} ms (min ${fmt(f0.min, 3)}, max ${fmt(f0.max, 3)})`);
    for (const [f, [name]] of filters.entries()) {
      let worst = 0;
      const parts = DEPTHS.map((depth, d) => {
        const r = spread(ratios[measure][f]![d]!);
        worst = Math.max(worst, r.median);
        return `${fmt(depth).padStart(6)}: ${fmt(spread(ms[measure][f]![d]!).median, 3).padStart(6)} ms ${r.min.toFixed(2)}/${r.median.toFixed(2)}/${r.max.toFixed(2)}×`;
      });
      const verdict = measure === judged ? (worst <= 2 ? 'MET' : 'NOT MET') : `(${worst.toFixed(2)}× at worst)`;
      console.log(`   ${(measure === 'cpu' ? 'CPU' : 'wall').padEnd(10)} ${name.padEnd(20)} ${parts.join('  ')}  ${verdict}`);
    }
  }
  if (!pg) return;
  const s0 = spread(firstServer);
  console.log(
    `   ${label}, the server's own execution time (EXPLAIN ANALYZE, median of 5 per round: µs where the page takes ms; in brackets the planning time): ` +
      `first unfiltered page ${fmt(s0.median, 3)} ms (min ${fmt(s0.min, 3)}, max ${fmt(s0.max, 3)}; planning ${fmt(spread(firstPlanning).median, 3)} ms)`,
  );
  for (const [f, [name]] of filters.entries()) {
    let worst = 0;
    const parts = DEPTHS.map((depth, d) => {
      const r = spread(serverRatios[f]![d]!);
      worst = Math.max(worst, r.median);
      return `${fmt(depth).padStart(6)}: ${fmt(spread(serverTimes[f]![d]!).median, 3).padStart(6)} ms (${fmt(spread(planning[f]![d]!).median, 3)}) ${r.min.toFixed(1)}/${r.median.toFixed(1)}/${r.max.toFixed(1)}×`;
    });
    console.log(`   ${'server'.padEnd(10)} ${name.padEnd(20)} ${parts.join('  ')}  (${fmt(worst, 1)}× at worst; the goal is judged on the page above)`);
  }
}

export async function benchLists(policy: CompiledPolicy): Promise<void> {
  console.log(
    `L. Lists  every filter's page of ${PAGE} at depth ${DEPTHS.map((d) => fmt(d)).join(', ')} among ${fmt(CLAIMS)} claims vs the first unfiltered page in the same round;` +
      ` ${ROUNDS} rounds of the median of ${RUNS}: median ms, ratio min/median/max (goal ≤ 2×, judged on the median)`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-lists-'));
  const sqlite = createDatabase({ dataDir });
  try {
    await listFilters('SQLite', sqlite, policy);
  } finally {
    await sqlite.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (process.env.BENCH_LIST_POSTGRES === '0') return;
  const cluster = await startPostgres();
  try {
    const postgres = createDatabase({ databaseUrl: await cluster.createDatabase('cpor_bench_filters'), dataDir: tmpdir() });
    try {
      await listFilters('PostgreSQL', postgres, policy);
    } finally {
      await postgres.destroy();
    }
  } finally {
    await cluster.stop();
  }
}
