/**
 * GET /v1/claims?q= runs on the substring index of migration 007 on both databases (EXPLAIN of the
 * list query the store runs), and the index follows every write: a claim is found by its new name
 * after an edit and no longer by the old one.
 */
import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { sqliteDatabase, postgresDatabase, useDatabase, type StoreSetup } from '../support/databases';
import { ACTORS, claimFields } from '../support/factories';
import { createClaimService } from '../../src/claims/claim-service';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { TEST_START } from '../support/test-app';

/** The SQL statements `run` sends through `knex`, with their bindings. */
async function captured(knex: Knex, run: () => Promise<unknown>): Promise<Array<{ sql: string; bindings: readonly unknown[] }>> {
  const queries: Array<{ sql: string; bindings: readonly unknown[] }> = [];
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => queries.push({ sql: q.sql, bindings: q.bindings ?? [] });
  knex.on('query', listener);
  try {
    await run();
  } finally {
    knex.off('query', listener);
  }
  return queries;
}

describe.each([sqliteDatabase, postgresDatabase])('claim search on $name', (db) => {
  useDatabase(db);
  let setup: StoreSetup;
  let knex: Knex;
  beforeEach(async () => {
    setup = await db.setup();
    knex = setup.knex!;
  });
  afterEach(() => setup.teardown());

  const service = async () =>
    createClaimService({ store: setup.store, policy: await compiledBundledPolicy(), clock: createVirtualClock(new Date(TEST_START)) });

  /** The query plan of the list query the store runs for `q` (PostgreSQL: with sequential scans priced out, as at 100k claims). */
  async function planOf(q: string): Promise<string> {
    // The last list query (SQLite first checks the first claims in list order: see the next test).
    const list = (await captured(knex, () => setup.store.listClaims({ q, limit: 50 }))).filter((s) => /from "claims"|from `claims`/i.test(s.sql)).at(-1);
    if (db.name === 'postgres') {
      return knex.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        const rows: { rows: Array<Record<string, string>> } = await trx.raw(`explain ${list!.sql.replace(/\$\d+/g, '?')}`, list!.bindings as Knex.RawBinding[]);
        return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    }
    const rows: Array<{ detail: string }> = await knex.raw(`explain query plan ${list!.sql}`, list!.bindings as Knex.RawBinding[]);
    return rows.map((r) => r.detail).join('\n');
  }

  it('a search of three characters or more uses the substring index, not a scan of the claims', async () => {
    const plan = await planOf('contoso');
    if (db.name === 'postgres') {
      expect(plan).toContain('claim_search_text_trgm_idx');
      expect(plan).not.toMatch(/Seq Scan on claim(s|_search)\b/);
    } else {
      expect(plan).toMatch(/SCAN claim_search_fts VIRTUAL TABLE INDEX 0:M/); // the trigram MATCH
      expect(plan).toMatch(/SEARCH claims USING INDEX/);
      expect(plan).not.toMatch(/SCAN claims\b/);
    }
  });

  it('a common query fills its page from the first claims in list order (SQLite: without the index), and pages on from there', async () => {
    const claims = await service();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await claims.create(ACTORS.partner, claimFields({ name: `Rollout ${i}` }))).claim.id);
    // In list order (created at one instant: by id), as the index finds them (three claims do not fill a page of 10).
    ids.splice(0, 3, ...(await setup.store.listClaims({ q: 'rollout', limit: 10 })).map((c) => c.id));
    expect(ids).toHaveLength(3);
    const queries = await captured(knex, async () => {
      const first = await setup.store.listClaims({ q: 'ROLLOUT', limit: 2 });
      expect(first.map((c) => c.id)).toEqual(ids.slice(0, 2));
      const last = first.at(-1)!;
      expect((await setup.store.listClaims({ q: 'rollout', limit: 2, after: { createdAt: last.createdAt, id: last.id } })).map((c) => c.id)).toEqual([ids[2]]);
    });
    // SQLite: the first page came from the walk alone (one statement); the second (one claim left) from the index after it.
    const fts = queries.map((q) => q.sql.includes('claim_search_fts'));
    expect(fts).toEqual(db.name === 'sqlite' ? [false, false, true] : [false, false]);
  });

  it.runIf(db.name === 'sqlite')('a common query reads the list index from the cursor as it checks each claim: one statement, nothing sorted or read ahead', async () => {
    const claims = await service();
    for (let i = 0; i < 3; i++) await claims.create(ACTORS.partner, claimFields({ name: `Rollout ${i}` }));
    // After the first in list order: two left, a page of one.
    const [first] = await setup.store.listClaims({ limit: 1 });
    const after = { createdAt: first!.createdAt, id: first!.id };
    const [walk, ...rest] = await captured(knex, () => setup.store.listClaims({ q: 'rollout', limit: 1, after }));
    expect(rest).toEqual([]);
    const rows: Array<{ detail: string }> = await knex.raw(`explain query plan ${walk!.sql}`, walk!.bindings as Knex.RawBinding[]);
    const plan = rows.map((r) => r.detail).join('\n');
    // The walk's keys come from the list index a row at a time (a co-routine), from the cursor on, in its order.
    expect(plan).toMatch(/CO-ROUTINE walk\nSEARCH claims USING COVERING INDEX claims_created_at_id_idx \(\(created_at,id\)>\(\?,\?\)\)/);
    expect(plan).not.toMatch(/TEMP B-TREE|claim_search_fts/);
  });

  it('finds a claim by a substring of its new name after an edit, and no longer by the old one', async () => {
    const claims = await service();
    const created = await claims.create(ACTORS.partner, claimFields({ name: 'Northwind pilot' }));
    const found = async (q: string) => (await setup.store.listClaims({ q, limit: 10 })).map((c) => c.id);
    expect(await found('WIND PIL')).toEqual([created.claim.id]);
    await claims.act(created.claim.id, 'edit', ACTORS.partner, { name: 'Tailspin rollout' });
    expect(await found('wind pil')).toEqual([]);
    expect(await found('spin roll')).toEqual([created.claim.id]);
    expect(await found('"')).toEqual([]);
    expect(await found('in')).toEqual([created.claim.id]);
    expect(await found('rollout\nx')).toEqual([]);
  });
});

describe('claim search in memory', () => {
  it('never matches across two searched values', async () => {
    const store = createMemoryClaimStore();
    const claims = createClaimService({ store, policy: await compiledBundledPolicy(), clock: createVirtualClock(new Date(TEST_START)) });
    const created = await claims.create(ACTORS.partner, claimFields({ name: 'Rollout' }));
    expect((await store.listClaims({ q: 'rollout', limit: 10 })).map((c) => c.id)).toEqual([created.claim.id]);
    expect(await store.listClaims({ q: 'rollout\n', limit: 10 })).toEqual([]);
  });
});
