/**
 * `npm run bench -- transition`: a lifecycle transition (startReview) through the claim
 * service on SQLite, beside the raw better-sqlite3 statements such a transition needs (goal ≤ 3×),
 * in CPU time per transition, BENCH_TRANSITIONS (default 300) transitions a round, 3 rounds
 * (min/median/max). The raw statements: BEGIN IMMEDIATE, read the claim, update it, append a
 * history entry and a decision, rewrite its product row and the conflict marker's three
 * statements, COMMIT, each prepared once. The service's figure includes the domain's work
 * (machine, rules, hash chain); the store's share is printed beside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClaimService } from '../src/claims/claim-service';
import type { ClaimStore, ClaimStoreTx } from '../src/claims/claim-store';
import { createMemoryClaimStore } from '../src/claims/memory-claim-store';
import { createDatabase, migrateLatest, SQLITE_FILE_NAME } from '../src/db/database';
import { createKnexClaimStore } from '../src/db/knex-claim-store';
import type { CompiledPolicy } from '../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../src/simulate/run-scenario';
import { ACTORS, claimFields, poePayload } from '../test/support/factories';

const PER_ROUND = Number(process.env.BENCH_TRANSITIONS ?? 300);
const ROUNDS = 3;

function spread(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[(sorted.length - 1) >> 1]!, max: sorted.at(-1)! };
}
const us = (s: ReturnType<typeof spread>) => `median ${s.median.toFixed(0)} µs (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;

/** CPU microseconds (user + system) per call of `fn` over `count` calls. */
async function cpuPer(count: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) await fn(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

/** A store that adds up the CPU its calls take (the store's share of a transition). */
function timedStore(store: ClaimStore, spent: { us: number }): ClaimStore {
  const time = <T>(call: () => Promise<T>) => async () => {
    const before = process.cpuUsage();
    try {
      return await call();
    } finally {
      const used = process.cpuUsage(before);
      spent.us += used.user + used.system;
    }
  };
  const wrapTx = (tx: ClaimStoreTx): ClaimStoreTx =>
    new Proxy(tx, {
      get(target, key) {
        const value = target[key as keyof ClaimStoreTx];
        return typeof value === 'function' ? (...args: unknown[]) => time(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args))() : value;
      },
    });
  return { ...store, transaction: (fn) => store.transaction((tx) => fn(wrapTx(tx))) };
}

export async function benchTransition(policy: CompiledPolicy): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-tx-'));
  const count = PER_ROUND * (ROUNDS + 1) * 2;
  // Submitted claims, built in memory and copied in (each round's transitions meet fresh claims).
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const memory = createMemoryClaimStore();
  const seeding = createClaimService({ store: memory, policy, clock, ids: createSequentialIds() });
  for (let i = 0; i < count; i++) {
    const partnerId = ['4512345', '4599999'][i % 2]!;
    const actor = { ...ACTORS.partner, partnerId };
    // Two partners' claims per customer tenant: each claim overlaps one other, as conflicts go.
    const tenantId = `00000000-0000-4000-8000-${String(i >> 1).padStart(12, '0')}`;
    const { claim } = await seeding.create(actor, claimFields({ partnerId, mpnId: partnerId, customer: { tenantId, domain: 'contoso.com', name: 'Contoso' } }));
    await seeding.act(claim.id, 'uploadPoe', actor, poePayload());
    await seeding.act(claim.id, 'submit', actor, {});
  }
  const knex = createDatabase({ dataDir });
  await migrateLatest(knex);
  const store = createKnexClaimStore(knex);
  const ids = await memory.allClaimIds();
  for (let i = 0; i < ids.length; i += 200) {
    await store.transaction(async (tx) => {
      for (const id of ids.slice(i, i + 200)) {
        await tx.insertClaim((await memory.getClaim(id))!);
        await tx.appendHistory(await memory.listHistory(id));
      }
    });
  }
  const spent = { us: 0 };
  const service = createClaimService({ store: timedStore(store, spent), policy, clock, ids: createSequentialIds() });
  const raw = new Database(join(dataDir, SQLITE_FILE_NAME));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  const read = raw.prepare('select id, version, data from claims where id = ?');
  const update = raw.prepare('update claims set version = ?, state = ?, status = ?, updated_at = ?, next_due_at = ?, data = ? where id = ? and version = ?');
  const history = raw.prepare(
    'insert into claim_history (claim_id, seq, at, actor_role, actor_id, event, from_state, to_state, payload, entry, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const decision = raw.prepare(
    'insert into decisions (claim_id, author_role, author_id, at, kind, policy_id, policy_version, input_digest, result, rules_fired) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const productGone = raw.prepare('delete from claim_products where claim_id = ? and product_code = ?');
  const product = raw.prepare('insert into claim_products (claim_id, tenant_id, partner_id, product_code, status, state) values (?, ?, ?, ?, ?, ?)');
  const rivals = raw.prepare('select claim_id from claim_products where tenant_id = ? and product_code = ? and partner_id <> ?');
  const pairs = raw.prepare(
    'select claims.created_at, mine.state, theirs.state as rival from claim_products mine join claims on claims.id = mine.claim_id ' +
      'join claim_products theirs on theirs.tenant_id = mine.tenant_id and theirs.product_code = mine.product_code and theirs.partner_id <> mine.partner_id where mine.claim_id = ?',
  );
  const marker = raw.prepare('delete from claim_conflicts where claim_id = ?');
  const products = raw.prepare('select tenant_id, partner_id, product_code from claim_products where claim_id = ?');
  const rawTransition = (id: string) => {
    begin.run();
    const row = read.get(id) as { id: string; version: number; data: string };
    const claim = JSON.parse(row.data) as { updatedAt: string };
    update.run(row.version + 1, 'underReview', 'underReview', claim.updatedAt, null, JSON.stringify({ ...claim, version: row.version + 1 }), id, row.version);
    history.run(id, 1000 + row.version, claim.updatedAt, 'reviewer', null, 'startReview', 'submitted', 'underReview', '{}', '{"entry":true}', 'p', 'h');
    decision.run(id, 'reviewer', null, claim.updatedAt, 'transition', 'cpor', '1', 'digest', '{}', '[]');
    for (const p of products.all(id) as Array<{ tenant_id: string; partner_id: string; product_code: string }>) {
      productGone.run(id, p.product_code);
      product.run(id, p.tenant_id, p.partner_id, p.product_code, 'underReview', 'underReview');
      rivals.all(p.tenant_id, p.product_code, p.partner_id);
    }
    pairs.all(id);
    marker.run(id);
    commit.run();
  };
  let next = 0;
  const take = () => ids[next++]!;
  // Warm-up round of each (JIT, statement caches).
  await cpuPer(PER_ROUND, () => service.act(take(), 'startReview', ACTORS.reviewer, {}));
  await cpuPer(PER_ROUND, () => rawTransition(take()));
  const full: number[] = [];
  const storeShare: number[] = [];
  const rawUs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    spent.us = 0;
    full.push(await cpuPer(PER_ROUND, () => service.act(take(), 'startReview', ACTORS.reviewer, {})));
    storeShare.push(spent.us / PER_ROUND);
    rawUs.push(await cpuPer(PER_ROUND, () => rawTransition(take())));
  }
  raw.close();
  await knex.destroy();
  rmSync(dataDir, { recursive: true, force: true });
  const f = spread(full);
  const s = spread(storeShare);
  const r = spread(rawUs);
  console.log(`9. Transition startReview on SQLite, CPU per transition, ${PER_ROUND} a round, ${ROUNDS} rounds:`);
  console.log(`   service.act (domain + store)      ${us(f)}`);
  console.log(`   of which the store's calls        ${us(s)}`);
  console.log(`   raw better-sqlite3 statements     ${us(r)}`);
  console.log(
    `   store / raw ${(s.median / r.median).toFixed(2)}×, whole transition / raw ${(f.median / r.median).toFixed(2)}× (goal ≤ 3×) ${f.median / r.median <= 3 ? 'MET' : 'NOT MET'}`,
  );
}
