/**
 * A deep page of the claim list costs what a first page costs: the keyset is a row value
 * `(created_at, id) > (?, ?)` on an index that also holds the filter, so the index scan starts
 * at the cursor and never reads the rows before it. Shown with the database's own plan, on its
 * own statistics: overdue claims are read from the overdue marker's indexes (migration 010),
 * conflicted ones from the conflict marker's (migration 008).
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimFilter } from '../../src/claims/claim-store';
import { overdueRows } from '../../src/db/overdue-marker';
import type { StateId } from '../../src/domain/claim-types';
import type { KnexClaimStore } from '../../src/db/knex-claim-store';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { postgresDatabase, sqliteDatabase, useDatabase, type StoreSetup } from '../support/databases';
import { claimTemplate, isPostgres, SEED_PARTNERS, SEED_TENANTS, seedClaims, seededClaim } from '../support/seed-claims';

const CLAIMS = 6_000;
const DEPTH = 5_000;
const LIMIT = 26;
/** Seeded claim i is overdue on reviewStart / conflicted: a tenth each, as in `npm run bench -- lists`. */
const isOverdue = (i: number) => i % 20 === 1 || i % 20 === 9;
const isConflicted = (i: number) => i % 20 === 1 || i % 20 === 5;
const ACTIVE: StateId[] = ['submitted', 'underReview', 'partnerActionRequired', 'approved'];

/** The SQL a store call sends (the last statement), with its bindings. */
async function lastQuery(knex: Knex, call: () => Promise<unknown>): Promise<{ sql: string; bindings: readonly unknown[] }> {
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
  return { sql: seen.sql.replace(/\$\d+/g, '?'), bindings: seen.bindings };
}

interface PgPlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PgPlanNode[];
}

const nodesOf = (node: PgPlanNode): PgPlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

/** The filters the list route sends: none, status, a partner's or a customer's scope, each with a status; overdue with each; conflicted. */
const FILTERS: Array<[string, Omit<ClaimFilter, 'limit' | 'after'>, string, string]> = [
  ['no filter', {}, 'claims_created_at_id_idx', 'claims'],
  ['status', { status: 'submitted' }, 'claims_status_created_at_id_idx', 'claims'],
  ['partner', { partnerId: SEED_PARTNERS[1] }, 'claims_partner_created_at_id_idx', 'claims'],
  ['partner and status', { partnerId: SEED_PARTNERS[1], status: 'underReview' }, 'claims_partner_status_created_at_id_idx', 'claims'],
  ['tenant', { tenantId: SEED_TENANTS[2] }, 'claims_tenant_created_at_id_idx', 'claims'],
  ['tenant and status', { tenantId: SEED_TENANTS[2], status: 'rejected' }, 'claims_tenant_status_created_at_id_idx', 'claims'],
  ['overdue', { overdue: 'reviewStart' }, 'claim_overdue_name_created_at_idx', 'claim_overdue'],
  ['overdue and status', { overdue: 'reviewStart', status: 'submitted' }, 'claim_overdue_name_status_created_at_idx', 'claim_overdue'],
  ['overdue and partner', { overdue: 'reviewStart', partnerId: SEED_PARTNERS[1] }, 'claim_overdue_name_partner_created_at_idx', 'claim_overdue'],
  ['overdue, partner and status', { overdue: 'reviewStart', partnerId: SEED_PARTNERS[1], status: 'submitted' }, 'claim_overdue_name_partner_status_created_at_idx', 'claim_overdue'],
  ['overdue and tenant', { overdue: 'reviewStart', tenantId: SEED_TENANTS[2] }, 'claim_overdue_name_tenant_created_at_idx', 'claim_overdue'],
  ['overdue, tenant and status', { overdue: 'reviewStart', tenantId: SEED_TENANTS[2], status: 'submitted' }, 'claim_overdue_name_tenant_status_created_at_idx', 'claim_overdue'],
  ['conflicted', { conflict: { conflicted: true, activeStatuses: ACTIVE } }, 'claim_conflicts_created_at_claim_id_idx', 'claim_conflicts'],
];

describe.each([sqliteDatabase, postgresDatabase])('$name: claim list pages at depth', (db) => {
  useDatabase(db);
  let ctx: StoreSetup;
  let knex: Knex;
  let store: KnexClaimStore;
  let after: { createdAt: string; id: string };

  beforeAll(async () => {
    ctx = await db.setup();
    knex = ctx.knex!;
    store = ctx.store;
    const policy = await compiledBundledPolicy();
    await seedClaims(knex, policy, CLAIMS);
    const template = await claimTemplate(policy);
    const overdue = [];
    const conflicted = [];
    for (let i = 0; i < CLAIMS; i++) {
      const claim = seededClaim(template, i);
      if (isOverdue(i)) overdue.push(...overdueRows({ ...claim, overdue: ['reviewStart'] }));
      if (isConflicted(i)) conflicted.push({ claim_id: claim.id, created_at: claim.createdAt, state: 'submitted', rival_states: '|underReview|' });
    }
    await knex.batchInsert('claim_overdue', overdue, 100);
    await knex.batchInsert('claim_conflicts', conflicted, 100);
    await knex.raw(isPostgres(knex) ? 'ANALYZE claim_overdue, claim_conflicts' : 'ANALYZE');
    const deep = seededClaim(template, DEPTH);
    after = { createdAt: deep.createdAt, id: deep.id };
  }, 120_000);
  afterAll(() => ctx?.teardown());

  it('a deep page lists the claims after the cursor in (createdAt, id) order, ties broken by id', async () => {
    const page = await store.listClaims({ limit: LIMIT, after });
    const all = (await knex('claims').select('id', 'created_at').orderBy([{ column: 'created_at' }, { column: 'id' }])) as Array<{ id: string }>;
    const at = all.findIndex((row) => row.id === after.id);
    expect(page.map((c) => c.id)).toEqual(all.slice(at + 1, at + 1 + LIMIT).map((row) => row.id));
    const sameInstant = await store.listClaims({ limit: 2, after: { createdAt: seededClaim(page[0]!, 13).createdAt, id: 'seed-0000012' } });
    expect(sameInstant.map((c) => c.id)).toEqual(['seed-0000013', 'seed-0000014']);
  });

  it.each(FILTERS)('filtered by %s, a deep page starts its index scan at the cursor', async (_name, filter, index, table) => {
    const { sql, bindings } = await lastQuery(knex, () => store.listClaims({ ...filter, after, limit: LIMIT }));
    if (isPostgres(knex)) {
      const explained = (await knex.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, bindings as Knex.RawBinding[])) as {
        rows: Array<{ 'QUERY PLAN': Array<{ Plan: PgPlanNode }> }>;
      };
      const plan = explained.rows[0]!['QUERY PLAN'];
      const nodes = nodesOf(plan[0]!.Plan);
      const scan = nodes.find((node) => node['Index Name'] === index);
      expect(scan, JSON.stringify(plan, null, 1)).toBeDefined();
      expect(scan!['Index Cond']).toMatch(/ROW\(\(?created_at\)?(::text)?, \(?(claim_)?id\)?(::text)?\) > ROW\(/);
      // Read in the index's order: nothing sorted.
      expect(nodes.map((node) => node['Node Type'])).not.toContain('Sort');
      // The rows read are the page (and the one after it that says there is more), not the ones skipped.
      expect(scan!['Actual Rows']).toBeLessThanOrEqual(LIMIT);
      expect(nodes.reduce((sum, node) => sum + (node['Rows Removed by Filter'] ?? 0), 0)).toBe(0);
    } else {
      const plan = (await knex.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
      const details = plan.map((row) => row.detail);
      expect(details, details.join('\n')).toContainEqual(
        expect.stringMatching(new RegExp(`^SEARCH ${table} USING (COVERING )?INDEX ${index} \\(.*\\(created_at,(claim_)?id\\)>\\(\\?,\\?\\)\\)$`)),
      );
      expect(details.some((detail) => /TEMP B-TREE/.test(detail)), details.join('\n')).toBe(false);
    }
  });
});
