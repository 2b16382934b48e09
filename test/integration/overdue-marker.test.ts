/**
 * The overdue marker (claim_overdue with the list filters' columns and created_at, migration
 * 010) gives the answer the scan of the claim records gives, whatever creates, edits, status
 * changes and deadline firings came before, on SQLite and PostgreSQL; claims flagged before the
 * migration get their columns from it; and a page of overdue claims is read from the marker's
 * index in the cursor's order.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord } from '../../src/claims/claim-record';
import type { ClaimFilter, ClaimStore } from '../../src/claims/claim-store';
import { migrateDown, migrateLatest, migrationStatus } from '../../src/db/database';
import { isInConflict } from '../../src/claims/conflicts';
import type { Actor, ClaimFields, StateId, Status } from '../../src/domain/claim-types';
import { tenantKey } from '../../src/domain/tenant-id';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { DATABASES, useDatabase, type StoreSetup } from '../support/databases';
import { ACTORS, claimFields, poePayload } from '../support/factories';

const PARTNERS = ['4512345', '4599999'];
const NAMES = ['reviewStart', 'reviewDecision', 'decisionTarget', 'partnerResponse'];
const STATUSES: Status[] = ['submitted', 'underReview', 'partnerActionRequired', 'rejected'];
const ACTIVE: StateId[] = ['submitted', 'underReview', 'partnerActionRequired', 'approved'];

let policy: CompiledPolicy;
beforeAll(async () => {
  policy = await compiledBundledPolicy();
});

type Op =
  | { kind: 'create'; partner: number; tenant: number; submit: boolean }
  | { kind: 'edit'; claim: number; tenant: number }
  | { kind: 'submit' | 'startReview' | 'requestInfo' | 'resubmit' | 'approve' | 'withdraw'; claim: number }
  | { kind: 'wait'; days: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('create' as const), partner: fc.nat(PARTNERS.length - 1), tenant: fc.nat(1), submit: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('edit' as const), claim: fc.nat(20), tenant: fc.nat(1) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('submit' as const, 'startReview' as const, 'requestInfo' as const, 'resubmit' as const, 'approve' as const, 'withdraw' as const),
      claim: fc.nat(20),
    }),
    weight: 4,
  },
  // Days pass and the scheduler fires what fell due (deadlines go overdue, partnerResponse rejects).
  { arbitrary: fc.record({ kind: fc.constant('wait' as const), days: fc.integer({ min: 1, max: 15 }) }), weight: 3 },
);

const SQL_DATABASES = DATABASES.filter((db) => db.sql);

/**
 * Claims submitted and left past reviewStart; one then taken into review (reviewStart's flag goes,
 * decisionTarget's stays) and left past reviewDecision; one withdrawn (its flags go).
 */
const OVERDUE_THEN_MOVED: readonly Op[] = [
  { kind: 'create', partner: 0, tenant: 0, submit: true },
  { kind: 'create', partner: 1, tenant: 1, submit: true },
  { kind: 'create', partner: 0, tenant: 1, submit: true },
  { kind: 'wait', days: 8 },
  { kind: 'startReview', claim: 1 },
  { kind: 'wait', days: 9 },
  { kind: 'withdraw', claim: 2 },
];

/** The filters a list of overdue claims can combine with `overdue`. */
function filtersOf(name: string, tenants: readonly string[]): Array<Omit<ClaimFilter, 'limit' | 'after'>> {
  return [
    { overdue: name },
    ...STATUSES.map((status) => ({ overdue: name, status })),
    ...PARTNERS.map((partnerId) => ({ overdue: name, partnerId })),
    ...PARTNERS.map((partnerId) => ({ overdue: name, partnerId, status: 'submitted' as Status })),
    // The tenant as entered in another case: the tenant key matches it.
    ...tenants.map((tenantId) => ({ overdue: name, tenantId: tenantId.toUpperCase() })),
    ...tenants.map((tenantId) => ({ overdue: name, tenantId, status: 'underReview' as Status })),
    // With the conflict marker probed for each overdue claim.
    { overdue: name, conflict: { conflicted: true, activeStatuses: ACTIVE } },
    { overdue: name, conflict: { conflicted: false, activeStatuses: ACTIVE } },
  ];
}

/** What the scan of every stored record finds for `filter`, in list order. */
function scanned(claims: readonly ClaimRecord[], filter: Omit<ClaimFilter, 'limit' | 'after'>): string[] {
  return claims
    .filter((claim) => {
      const fields = claim.snapshot.context.fields;
      if (filter.overdue !== undefined && !claim.overdue.includes(filter.overdue)) return false;
      if (filter.status !== undefined && claim.status !== filter.status) return false;
      if (filter.partnerId !== undefined && fields.partnerId !== filter.partnerId) return false;
      if (filter.tenantId !== undefined && (!fields.customer?.tenantId || tenantKey(fields.customer.tenantId) !== tenantKey(filter.tenantId))) return false;
      if (filter.conflict && isInConflict(claim, claims, filter.conflict.activeStatuses) !== filter.conflict.conflicted) return false;
      return true;
    })
    .map((claim) => claim.id);
}

/** Every page of the list, 2 claims at a time, through the keyset cursor. */
async function listed(store: ClaimStore, filter: Omit<ClaimFilter, 'limit' | 'after'>): Promise<string[]> {
  const ids: string[] = [];
  let after: { createdAt: string; id: string } | undefined;
  for (;;) {
    const page = await store.listClaims({ ...filter, limit: 2, ...(after ? { after } : {}) });
    ids.push(...page.map((claim) => claim.id));
    if (page.length < 2) return ids;
    const last = page.at(-1)!;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/** Every stored claim, in list order. */
async function allClaims(store: ClaimStore): Promise<ClaimRecord[]> {
  return Promise.all((await store.allClaimIds()).map(async (id) => (await store.getClaim(id))!));
}

describe.each(SQL_DATABASES)('$name', (db) => {
  useDatabase(db);
  let ctx: StoreSetup;
  beforeEach(async () => {
    ctx = await db.setup();
  });
  afterEach(() => ctx.teardown());

  /** Runs `ops` through the claim service on tenants of its own; answers those tenants. */
  async function play(ops: readonly Op[]): Promise<string[]> {
    const tenants = [randomUUID(), randomUUID()];
    const clock = createVirtualClock(new Date('2026-03-02T17:00:00.000Z'));
    const service = createClaimService({ store: ctx.store, policy, clock, ids: { next: (kind) => `${kind}-${randomUUID()}` } });
    const mine: Array<{ id: string; actor: Actor }> = [];
    const customer = (tenant: number): Partial<ClaimFields>['customer'] => ({ tenantId: tenants[tenant]!, domain: 'contoso.com', name: 'Contoso' });
    for (const step of ops) {
      if (step.kind === 'wait') {
        clock.set(new Date(clock.now().getTime() + step.days * 86_400_000));
        await service.fireDue();
        continue;
      }
      clock.set(new Date(clock.now().getTime() + 60_000));
      if (step.kind === 'create') {
        const partnerId = PARTNERS[step.partner]!;
        const actor = { ...ACTORS.partner, partnerId };
        const { claim } = await service.create(actor, claimFields({ partnerId, mpnId: partnerId, customer: customer(step.tenant) }));
        mine.push({ id: claim.id, actor });
        if (step.submit) {
          await service.act(claim.id, 'uploadPoe', actor, poePayload());
          await service.act(claim.id, 'submit', actor, {});
        }
        continue;
      }
      const target = mine[step.claim % Math.max(mine.length, 1)];
      if (!target) continue;
      const send = (type: string, actor: Actor, payload: Record<string, unknown>) => service.act(target.id, type, actor, payload).catch(() => undefined);
      if (step.kind === 'edit') await send('edit', target.actor, { customer: customer(step.tenant) });
      else if (step.kind === 'submit') {
        await send('uploadPoe', target.actor, poePayload());
        await send('submit', target.actor, {});
      } else if (step.kind === 'startReview' || step.kind === 'approve') await send(step.kind, ACTORS.reviewer, {});
      else if (step.kind === 'requestInfo') await send('requestInfo', ACTORS.reviewer, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'More detail on the workloads, please.' });
      else await send(step.kind, target.actor, {});
    }
    return tenants;
  }

  async function expectMarkerMatchesScan(tenants: readonly string[]): Promise<void> {
    const claims = await allClaims(ctx.store);
    for (const name of NAMES) {
      for (const filter of filtersOf(name, tenants)) expect(await listed(ctx.store, filter), JSON.stringify(filter)).toEqual(scanned(claims, filter));
    }
  }

  it('the marker lists the claims the scan finds overdue, by name, status, partner, tenant and conflict, after random creates, edits, transitions and firings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (ops) => {
        const tenants = await play(ops);
        await expectMarkerMatchesScan(tenants);
      }),
      // First the example: claims left past their deadlines, then moved on while overdue.
      { numRuns: 16, examples: [[[...OVERDUE_THEN_MOVED]]] },
    );
    // The runs flagged claims overdue, and moved some on while overdue (decisionTarget runs on
    // under review), else the property said little about the marker's upkeep.
    const flagged = await allClaims(ctx.store);
    expect(flagged.filter((claim) => claim.overdue.length > 0).length).toBeGreaterThan(0);
    expect(flagged.filter((claim) => claim.overdue.length > 0 && claim.status !== 'submitted').length).toBeGreaterThan(0);
  }, 240_000);

  it('claims flagged overdue before migration 010 get the marker columns from it', async () => {
    const knex = ctx.knex!;
    const tenants = await play(OVERDUE_THEN_MOVED);
    expect(Number((await knex('claim_overdue').count({ n: '*' }))[0]!.n)).toBeGreaterThanOrEqual(4); // reviewStart and decisionTarget of one, decisionTarget and reviewDecision of the other
    expect(await migrateDown(knex)).toEqual(['20261130_010_overdue_marker']);
    expect(await knex.schema.hasColumn('claim_overdue', 'created_at')).toBe(false);
    expect(await migrateLatest(knex)).toEqual(['20261130_010_overdue_marker']);
    expect((await migrationStatus(knex)).pending).toEqual([]);
    expect(Number((await knex('claim_overdue').whereNull('created_at').orWhereNull('status').count({ n: '*' }))[0]!.n)).toBe(0);
    await expectMarkerMatchesScan(tenants);
  }, 60_000);

  it('a page of overdue claims is read from the marker index in cursor order, not by probing every claim', async () => {
    const knex = ctx.knex!;
    const after = { createdAt: '2026-03-02T17:00:00.000Z', id: 'claim-1' };
    const cases: Array<[Omit<ClaimFilter, 'limit' | 'after'>, string]> = [
      [{ overdue: 'reviewStart' }, 'claim_overdue_name_created_at_idx'],
      [{ overdue: 'reviewStart', status: 'submitted' }, 'claim_overdue_name_status_created_at_idx'],
      [{ overdue: 'reviewStart', partnerId: PARTNERS[0] }, 'claim_overdue_name_partner_created_at_idx'],
      [{ overdue: 'reviewStart', partnerId: PARTNERS[0], status: 'submitted' }, 'claim_overdue_name_partner_status_created_at_idx'],
      [{ overdue: 'reviewStart', tenantId: randomUUID() }, 'claim_overdue_name_tenant_created_at_idx'],
      [{ overdue: 'reviewStart', tenantId: randomUUID(), status: 'submitted' }, 'claim_overdue_name_tenant_status_created_at_idx'],
    ];
    for (const [filter, index] of cases) {
      const query = await lastQuery(knex, () => ctx.store.listClaims({ ...filter, limit: 50, after }));
      const plan = db.name === 'postgres' ? await postgresPlan(knex, query) : await sqlitePlan(knex, query);
      expect(plan, JSON.stringify(filter)).toContain(index);
      // The cursor's row value bounds the index scan, and the cursor's order is the index's: nothing is sorted.
      expect(plan, JSON.stringify(filter)).toMatch(db.name === 'postgres' ? /Index Cond: .*ROW\(created_at, claim_id\) > ROW\(/ : /\(created_at,claim_id\)>\(\?,\?\)/);
      expect(plan, JSON.stringify(filter)).not.toMatch(/TEMP B-TREE|Sort\b/i);
    }
  });
});

/** A query as knex ran it: SQL in the driver's own placeholders, and its bindings. */
interface Query {
  sql: string;
  bindings?: unknown[];
}

async function lastQuery(knex: Knex, call: () => Promise<unknown>): Promise<Query> {
  const captured: Query[] = [];
  const listen = (query: Query) => captured.push(query);
  knex.on('query', listen);
  try {
    await call();
  } finally {
    knex.off('query', listen);
  }
  return captured.at(-1)!;
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
