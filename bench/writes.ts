/**
 * `npm run bench -- transition`: a lifecycle transition (startReview) through the claim
 * service on SQLite, beside the raw better-sqlite3 statements such a transition needs (goal ≤ 3×),
 * in CPU time per transition, BENCH_TRANSITIONS (default 300) transitions a round,
 * BENCH_TRANSITION_ROUNDS (default 5: three left the median to the host's noise) rounds (min/median/max), taken in turn. The raw statements
 * are those the transition needs, each prepared once, on a connection with the service's pragmas:
 * BEGIN IMMEDIATE, read the claim, update it (with its whole JSON), mark its review-start deadline
 * met and insert the review-decision one, update its product rows, find its rivals and work out
 * the conflict marker of it and of each rival again (select + upsert each), append a history entry
 * and a decision, COMMIT. The service's figure includes the domain's work (machine, rules, hash
 * chain); the store's share is printed beside it, from rounds of their own with each store call timed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClaimService } from '../src/claims/claim-service';
import type { ClaimRecord } from '../src/claims/claim-record';
import type { ClaimStore, ClaimStoreTx } from '../src/claims/claim-store';
import { productCodesOf } from '../src/claims/conflicts';
import { createMemoryClaimStore } from '../src/claims/memory-claim-store';
import { createDatabase, migrateLatest, SQLITE_FILE_NAME } from '../src/db/database';
import { createKnexClaimStore } from '../src/db/knex-claim-store';
import type { CompiledPolicy } from '../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../src/simulate/run-scenario';
import { ACTORS, claimFields, poePayload } from '../test/support/factories';
import { spread } from './stats';

const PER_ROUND = Number(process.env.BENCH_TRANSITIONS ?? 300);
const ROUNDS = Number(process.env.BENCH_TRANSITION_ROUNDS ?? 5);

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
  // Each round: the service, the raw statements, the service with its store's calls timed (a warm-up round first).
  const count = PER_ROUND * (ROUNDS + 1) * 3;
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
  // Reviews start an hour after submission: the transition changes updated_at.
  clock.set(new Date('2026-03-02T18:00:00Z'));
  const reviewedAt = clock.now().toISOString();
  const spent = { us: 0 };
  const service = createClaimService({ store, policy, clock, ids: createSequentialIds() });
  // The store's share is timed in rounds of its own: timing each call costs CPU the whole figure should not carry.
  const timed = createClaimService({ store: timedStore(store, spent), policy, clock, ids: createSequentialIds() });
  const raw = new Database(join(dataDir, SQLITE_FILE_NAME));
  // The service's connection pragmas (src/db/database.ts), so both pay the same checks.
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 0');
  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  const read = raw.prepare('select id, version, data from claims where id = ?');
  // The columns startReview changes (the review-decision deadline falls due when the review-start one did: next_due_at stays).
  const update = raw.prepare('update claims set version = ?, state = ?, status = ?, updated_at = ?, data = ? where id = ? and version = ?');
  const history = raw.prepare(
    'insert into claim_history (claim_id, seq, at, actor_role, actor_id, event, from_state, to_state, payload, entry, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const decision = raw.prepare(
    'insert into decisions (claim_id, author_role, author_id, at, kind, policy_id, policy_version, input_digest, result, rules_fired) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // startReview meets the submission's review-start deadline and starts the review-decision one.
  const deadlineMet = raw.prepare('update claim_deadlines set status = ?, ended_at = ? where claim_id = ? and id = ?');
  const deadline = raw.prepare(
    'insert into claim_deadlines (claim_id, id, name, status, started_at, due, due_at, ended_at, lapsed) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const product = raw.prepare('update claim_products set status = ?, state = ? where claim_id = ? and product_code = ?');
  // The conflict marker: the claim's rivals, then the marker of the claim and of each rival worked out again.
  const rivals = raw.prepare('select claim_id from claim_products where tenant_id = ? and product_code = ? and partner_id <> ?');
  const pairs = raw.prepare(
    'select claims.created_at, mine.state, theirs.state as rival from claim_products mine join claims on claims.id = mine.claim_id ' +
      'join claim_products theirs on theirs.tenant_id = mine.tenant_id and theirs.product_code = mine.product_code and theirs.partner_id <> mine.partner_id where mine.claim_id = ?',
  );
  const marker = raw.prepare(
    'insert into claim_conflicts (claim_id, created_at, state, rival_states) values (?, ?, ?, ?) ' +
      'on conflict (claim_id) do update set created_at = excluded.created_at, state = excluded.state, rival_states = excluded.rival_states',
  );
  const refreshMarker = (claimId: string) => {
    const found = pairs.all(claimId) as Array<{ created_at: string; state: string; rival: string }>;
    if (found.length > 0) marker.run(claimId, found[0]!.created_at, found[0]!.state, `|${found.map((p) => p.rival).join('|')}|`);
  };
  const rawTransition = (id: string) => {
    begin.run();
    const row = read.get(id) as { id: string; version: number; data: string };
    const claim = JSON.parse(row.data) as ClaimRecord;
    const at = reviewedAt;
    const version = row.version + 1;
    const { fields } = claim.snapshot.context;
    const tenant = fields.customer.tenantId.toLowerCase();
    const entry = { claimId: id, seq: claim.lastSeq + 1, at, actor: ACTORS.reviewer, event: 'startReview', payload: {}, from: 'submitted', to: 'underReview', policy: claim.policy, prevHash: claim.lastHash, hash: 'h'.repeat(64) };
    update.run(version, 'underReview', 'underReview', at, JSON.stringify({ ...claim, version, state: 'underReview', status: 'underReview', updatedAt: at }), id, row.version);
    deadlineMet.run('met', at, id, 'reviewStart-1');
    deadline.run(id, 'reviewDecision-1', 'reviewDecision', 'running', at, '2026-03-09', claim.nextDueAt, null, 0);
    const affected = new Set([id]);
    for (const code of productCodesOf(fields)) {
      product.run('underReview', 'underReview', id, code);
      for (const rival of rivals.all(tenant, code, fields.partnerId) as Array<{ claim_id: string }>) affected.add(rival.claim_id);
    }
    for (const claimId of affected) refreshMarker(claimId);
    history.run(id, entry.seq, at, 'reviewer', ACTORS.reviewer.id ?? null, 'startReview', 'submitted', 'underReview', '{}', JSON.stringify(entry), entry.prevHash, entry.hash);
    decision.run(id, 'reviewer', ACTORS.reviewer.id ?? null, at, 'transition', claim.policy.id, claim.policy.version, 'd'.repeat(64), '{"event":"startReview","from":"submitted","to":"underReview"}', '[]');
    commit.run();
  };
  let next = 0;
  const take = () => ids[next++]!;
  // Warm-up round of each (JIT, statement caches).
  await cpuPer(PER_ROUND, () => service.act(take(), 'startReview', ACTORS.reviewer, {}));
  await cpuPer(PER_ROUND, () => rawTransition(take()));
  await cpuPer(PER_ROUND, () => timed.act(take(), 'startReview', ACTORS.reviewer, {}));
  const full: number[] = [];
  const storeShare: number[] = [];
  const rawUs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    full.push(await cpuPer(PER_ROUND, () => service.act(take(), 'startReview', ACTORS.reviewer, {})));
    rawUs.push(await cpuPer(PER_ROUND, () => rawTransition(take())));
    spent.us = 0;
    await cpuPer(PER_ROUND, () => timed.act(take(), 'startReview', ACTORS.reviewer, {}));
    storeShare.push(spent.us / PER_ROUND);
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
