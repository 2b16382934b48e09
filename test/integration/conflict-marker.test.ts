/**
 * The conflict marker (claim_conflicts, migration 008) gives the answer the scan of
 * claim_products gives, whatever creates, edits and withdrawals came before, on SQLite and
 * PostgreSQL; and a page of conflicted claims is read from its index in the cursor's order.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimStore } from '../../src/claims/claim-store';
import { isInConflict } from '../../src/claims/conflicts';
import type { Actor, ClaimFields, StateId } from '../../src/domain/claim-types';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { DATABASES, useDatabase, type StoreSetup } from '../support/databases';
import { ACTORS, claimFields, poePayload } from '../support/factories';

const PARTNERS = ['4512345', '4599999', '4577777'];
const WORKLOADS = ['teams', 'exchange', 'intune'] as const;
const STATE_SETS: StateId[][] = [
  ['submitted', 'underReview', 'partnerActionRequired', 'approved'],
  ['editing', 'submitted'],
  ['editing', 'submitted', 'rejected'],
  ['submitted'],
];

let policy: CompiledPolicy;
beforeAll(async () => {
  policy = await compiledBundledPolicy();
});

type Op =
  | { kind: 'create'; partner: number; tenant: number; products: number[] }
  | { kind: 'edit'; claim: number; tenant: number; products: number[] }
  | { kind: 'submit' | 'withdraw' | 'startReview'; claim: number };

const products = fc.uniqueArray(fc.integer({ min: 0, max: WORKLOADS.length - 1 }), { minLength: 1, maxLength: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('create' as const), partner: fc.nat(PARTNERS.length - 1), tenant: fc.nat(1), products }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('edit' as const), claim: fc.nat(20), tenant: fc.nat(1), products }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constantFrom('submit' as const, 'withdraw' as const, 'startReview' as const), claim: fc.nat(20) }), weight: 3 },
);

const SQL_DATABASES = DATABASES.filter((db) => db.sql);

describe.each(SQL_DATABASES)('$name', (db) => {
  useDatabase(db);
  let ctx: StoreSetup;
  beforeEach(async () => {
    ctx = await db.setup();
  });
  afterEach(() => ctx.teardown());

  /** Claim ids the scan finds conflicted (or not) under `states`: conflicts.ts over every stored claim. */
  async function scanned(store: ClaimStore, states: StateId[], conflicted: boolean): Promise<string[]> {
    const claims = await Promise.all((await store.allClaimIds()).map(async (id) => (await store.getClaim(id))!));
    return claims.filter((claim) => isInConflict(claim, claims, states) === conflicted).map((claim) => claim.id);
  }

  /** Every page of the list, 3 claims at a time, through the keyset cursor. */
  async function listed(store: ClaimStore, states: StateId[], conflicted: boolean): Promise<string[]> {
    const ids: string[] = [];
    let after: { createdAt: string; id: string } | undefined;
    for (;;) {
      const page = await store.listClaims({ conflict: { conflicted, activeStatuses: states }, limit: 3, ...(after ? { after } : {}) });
      ids.push(...page.map((claim) => claim.id));
      if (page.length < 3) return ids;
      const last = page.at(-1)!;
      after = { createdAt: last.createdAt, id: last.id };
    }
  }

  it('the marker lists the claims the scan finds conflicted (and not), after random creates, edits, submissions and withdrawals', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        // Each run on tenants of its own, so the claims of earlier runs meet none of this run's.
        const tenants = [randomUUID(), randomUUID()];
        const clock = createVirtualClock(new Date('2026-03-02T17:00:00.000Z'));
        const service = createClaimService({ store: ctx.store, policy, clock, ids: { next: (kind) => `${kind}-${randomUUID()}` } });
        const mine: Array<{ id: string; actor: Actor }> = [];
        const fields = (tenant: number, chosen: number[], partnerId: string): Partial<ClaimFields> => ({
          partnerId,
          mpnId: partnerId,
          customer: { tenantId: tenants[tenant]!, domain: 'contoso.com', name: 'Contoso' },
          products: chosen.map((i) => ({ line: 'microsoft365', workload: WORKLOADS[i]! })),
        });
        for (const step of ops) {
          clock.set(new Date(clock.now().getTime() + 60_000));
          if (step.kind === 'create') {
            const partnerId = PARTNERS[step.partner]!;
            const actor = { ...ACTORS.partner, partnerId };
            const { claim } = await service.create(actor, claimFields(fields(step.tenant, step.products, partnerId)));
            mine.push({ id: claim.id, actor });
            continue;
          }
          const target = mine[step.claim % Math.max(mine.length, 1)];
          if (!target) continue;
          const send = (type: string, actor: Actor, payload: Record<string, unknown>) => service.act(target.id, type, actor, payload).catch(() => undefined);
          if (step.kind === 'edit') {
            const { customer, products: chosen } = fields(step.tenant, step.products, target.actor.partnerId!);
            await send('edit', target.actor, { customer, products: chosen });
          } else if (step.kind === 'submit') {
            await send('uploadPoe', target.actor, poePayload());
            await send('submit', target.actor, {});
          } else if (step.kind === 'startReview') {
            await send('startReview', ACTORS.reviewer, {});
          } else {
            await send('withdraw', target.actor, {});
          }
        }
        for (const states of STATE_SETS) {
          for (const conflicted of [true, false]) {
            expect(await listed(ctx.store, states, conflicted)).toEqual(await scanned(ctx.store, states, conflicted));
          }
        }
      }),
      { numRuns: 12 },
    );
  }, 240_000);

  it('a page of conflicted claims is read from the marker index in cursor order, not by probing every claim', async () => {
    const knex = ctx.knex!;
    const captured: Query[] = [];
    const listen = (query: Query) => captured.push(query);
    knex.on('query', listen);
    await ctx.store.listClaims({ conflict: { conflicted: true, activeStatuses: STATE_SETS[0]! }, limit: 50, after: { createdAt: '2026-03-02T17:00:00.000Z', id: 'claim-1' } });
    knex.off('query', listen);
    const query = captured.at(-1)!;
    const plan = db.name === 'postgres' ? await postgresPlan(knex, query) : await sqlitePlan(knex, query);
    expect(plan).toContain('claim_conflicts_created_at_claim_id_idx');
    // The cursor's order is the index's: nothing is sorted.
    expect(plan).not.toMatch(/TEMP B-TREE|Sort\b/i);
  });
});

/** A query as knex ran it: SQL in the driver's own placeholders, and its bindings. */
interface Query {
  sql: string;
  bindings?: unknown[];
}

async function sqlitePlan(knex: Knex, { sql, bindings = [] }: Query): Promise<string> {
  const rows = (await knex.raw(`explain query plan ${sql}`, bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
  return rows.map((row) => row.detail).join('\n');
}

async function postgresPlan(knex: Knex, { sql, bindings = [] }: Query): Promise<string> {
  return knex.transaction(async (trx) => {
    // An empty table is read whole (or by bitmap, then sorted) whatever the indexes: plan as if
    // it were large, where a page of 50 is read in index order.
    await trx.raw('set local enable_seqscan = off');
    await trx.raw('set local enable_bitmapscan = off');
    const connection = (await trx.client.acquireConnection()) as { query(sql: string, values: unknown[]): Promise<{ rows: Array<{ 'QUERY PLAN': string }> }> };
    const { rows } = await connection.query(`explain ${sql}`, bindings);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}
