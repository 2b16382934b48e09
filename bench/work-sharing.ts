/**
 * `npm run bench -- sharing`: work shared between instances, and lists at depth.
 *
 *   a. deadline firings per second with one and with two `cpor serve` processes on one
 *      PostgreSQL: BENCH_DEADLINES (default 500) deadlines fall due in one commit; the time until
 *      the last has fired (each instance polls every 100 ms);
 *   b. the time of a claim list page (25) at depth 1,000 and 90,000 among BENCH_LIST_CLAIMS
 *      (default 100,000) claims beside the first page (goal: within 2×), on SQLite and
 *      PostgreSQL, with the keyset before this change (`created_at > ? or (created_at = ? and id > ?)`)
 *      at depth 90,000 for comparison;
 *   c. search (`q`, first page): a claim ID's digits (one match), the customer's name (every
 *      claim matches) and a word no claim holds, through the substring index of migration 007
 *      beside the scan of the claims' JSON it replaced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { ClaimFilter } from '../src/claims/claim-store';
import { createDatabase, migrateLatest } from '../src/db/database';
import { createKnexClaimStore } from '../src/db/knex-claim-store';
import type { CompiledPolicy } from '../src/policies/compiled-policy';
import { startPostgres, type PostgresCluster } from '../test/support/postgres';
import { claimTemplate, seedClaims, seededClaim, storeClaimsAtOnce } from '../test/support/seed-claims';
import { startServiceProcesses } from '../test/support/service-processes';

const DEADLINES = Number(process.env.BENCH_DEADLINES ?? 500);
const LIST_CLAIMS = Number(process.env.BENCH_LIST_CLAIMS ?? 100_000);
const PAGE = 25;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Deadline firings per second of `count` instances: the best of `rounds`. */
async function firingRate(cluster: PostgresCluster, policy: CompiledPolicy, count: number, rounds: number): Promise<number[]> {
  const services = await startServiceProcesses({ count, cluster, env: { SCHEDULER_INTERVAL_MS: '100', LOG_LEVEL: 'warn' } });
  const knex = createDatabase({ databaseUrl: services.databaseUrl, dataDir: tmpdir() });
  try {
    const rates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Submitted claims hold two deadlines each (reviewStart, decisionTarget), long due.
      const claims = await storeClaimsAtOnce(knex, policy, Math.ceil(DEADLINES / 2), 'submitted');
      const start = performance.now();
      const ids = claims.map((c) => c.id);
      for (;;) {
        const [{ n }] = (await knex('claim_history').whereIn('claim_id', ids).where('actor_role', 'system').count({ n: '*' })) as [{ n: string | number }];
        if (Number(n) >= claims.length * 2) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      rates.push((claims.length * 2) / ((performance.now() - start) / 1000));
    }
    return rates;
  } finally {
    await knex.destroy();
    await services.stop();
  }
}

/**
 * Median milliseconds of each of `cases` over `runs`, the cases taken in turn within each run
 * (so the machine's noise falls on all of them alike), after a few runs to warm up.
 */
async function medianMs(cases: Array<() => Promise<unknown>>, runs = 40): Promise<number[]> {
  const samples = cases.map(() => [] as number[]);
  for (let run = -5; run < runs; run++) {
    for (const [i, fn] of cases.entries()) {
      const start = performance.now();
      await fn();
      if (run >= 0) samples[i]!.push(performance.now() - start);
    }
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

async function listDepths(label: string, knex: Knex, policy: CompiledPolicy) {
  await migrateLatest(knex);
  const seedStart = performance.now();
  await seedClaims(knex, policy, LIST_CLAIMS);
  // Settle what a bulk load leaves to do (PostgreSQL's autovacuum would otherwise run during the timings).
  if ((knex.client as { dialect?: string }).dialect === 'postgresql') await knex.raw('VACUUM ANALYZE claims');
  const seeded = (performance.now() - seedStart) / 1000;
  const store = createKnexClaimStore(knex);
  const template = await claimTemplate(policy);
  const cursorAt = (depth: number) => {
    const last = seededClaim(template, depth - 1); // the last claim of the page before
    return { createdAt: last.createdAt, id: last.id };
  };
  const depths = [1_000, 90_000].filter((d) => d < LIST_CLAIMS);
  for (const [name, filter] of [
    ['all claims', {}],
    ['status=submitted', { status: 'submitted' }],
  ] as Array<[string, Omit<ClaimFilter, 'limit'>]>) {
    const deepest = depths.at(-1);
    const page = (after?: { createdAt: string; id: string }) => () => store.listClaims({ ...filter, ...(after ? { after } : {}), limit: PAGE + 1 });
    // The keyset as it was before migration 006: not a row value, so the scan is not bounded.
    const before = (depth: number) => () => {
      const { createdAt, id } = cursorAt(depth);
      const query = knex('claims').select('id', 'version', 'data');
      if (filter.status) query.where('status', filter.status);
      return query
        .where((k) => k.where('created_at', '>', createdAt).orWhere((same) => same.where('created_at', createdAt).where('id', '>', id)))
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .limit(PAGE + 1);
    };
    const [first, ...rest] = await medianMs([page(), ...depths.map((d) => page(cursorAt(d))), ...(deepest ? [before(deepest)] : [])]);
    const parts = [`first page ${fmt(first!, 2)} ms`];
    let worst = 0;
    for (const [i, depth] of depths.entries()) {
      worst = Math.max(worst, rest[i]! / first!);
      parts.push(`depth ${fmt(depth)} ${fmt(rest[i]!, 2)} ms (${(rest[i]! / first!).toFixed(2)}×)`);
    }
    if (deepest) parts.push(`before (OR keyset) at ${fmt(deepest)}: ${fmt(rest.at(-1)!, 2)} ms`);
    console.log(`   ${label.padEnd(10)} ${name.padEnd(16)} ${parts.join(', ')}  ${worst <= 2 ? 'MET' : 'NOT MET'} (goal ≤ 2×)`);
  }
  // Search: the index of migration 007 beside the query before it (lower(json field) like '%q%' over every claim).
  const customerName = template.snapshot.context.fields.customer!.name;
  const pg = (knex.client as { dialect?: string }).dialect === 'postgresql';
  const scanBefore = (q: string) => () => {
    const needle = `%${q.toLowerCase()}%`;
    const field = (path: string) => (pg ? `((data::json) #>> '{snapshot,context,fields,${path.replaceAll('.', ',')}}')` : `json_extract(data, '$.snapshot.context.fields.${path}')`);
    const columns = [field('customer.name'), field('customer.domain'), field('name'), 'tenant_id', 'partner_id', 'id'];
    return knex('claims')
      .select('id', 'version', 'data')
      .where((b) => {
        for (const column of columns) b.orWhereRaw(`lower(${column}) like ?`, [needle]);
      })
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
      .limit(PAGE + 1);
  };
  const searches: Array<[string, string]> = [
    ['claim ID digits', String(Math.floor(LIST_CLAIMS * 0.9)).padStart(7, '0')],
    ['customer name', customerName.slice(0, 7)],
    ['no match', 'zyxwvut'],
  ];
  const searchTimes = await medianMs(
    searches.flatMap(([, q]) => [() => store.listClaims({ q, limit: PAGE + 1 }), scanBefore(q)]),
    10,
  );
  for (const [i, [name, q]] of searches.entries()) {
    const [indexed, scan] = [searchTimes[2 * i]!, searchTimes[2 * i + 1]!];
    const ratio = scan >= indexed ? `${(scan / indexed).toFixed(1)}× faster` : `${(indexed / scan).toFixed(1)}× slower`;
    console.log(`   ${label.padEnd(10)} search ${name.padEnd(16)} q=${JSON.stringify(q)}: indexed ${fmt(indexed, 2)} ms, scan before ${fmt(scan, 2)} ms (${ratio})`);
  }
  console.log(`   ${label.padEnd(10)} (${fmt(LIST_CLAIMS)} claims seeded in ${seeded.toFixed(1)} s)`);
}

export async function benchWorkSharing(policy: CompiledPolicy): Promise<void> {
  const cluster = await startPostgres();
  try {
    console.log(`6. Work sharing  ${fmt(DEADLINES)} deadlines due in one commit, cpor serve processes on one PostgreSQL (best of 2)`);
    const one = await firingRate(cluster, policy, 1, 2);
    const two = await firingRate(cluster, policy, 2, 2);
    const [best1, best2] = [Math.max(...one), Math.max(...two)];
    console.log(`   one instance  ${fmt(best1)} firings/s (${one.map((r) => fmt(r)).join(', ')})`);
    console.log(`   two instances ${fmt(best2)} firings/s (${two.map((r) => fmt(r)).join(', ')}): ${(best2 / best1).toFixed(2)}× one`);

    console.log(`7. Lists at depth  a page of ${PAGE} among ${fmt(LIST_CLAIMS)} claims, median of 40 taken in turn (goal: within 2× of the first page)`);
    const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-lists-'));
    const sqlite = createDatabase({ dataDir });
    try {
      await listDepths('SQLite', sqlite, policy);
    } finally {
      await sqlite.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const postgres = createDatabase({ databaseUrl: await cluster.createDatabase('cpor_bench_lists'), dataDir: tmpdir() });
    try {
      await listDepths('PostgreSQL', postgres, policy);
    } finally {
      await postgres.destroy();
    }
  } finally {
    await cluster.stop();
  }
}
