/**
 * A lifecycle transition on SQLite (issue 12, "Writes"): one transaction run on the driver,
 * its statements prepared once per connection and reused, writing only what the transition
 * changed. Read from the statements the store announces as knex `query` events and from the
 * connection's prepare calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database as SqliteConnection } from 'better-sqlite3';
import type { Knex } from 'knex';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClaimService, type ClaimService } from '../../src/claims/claim-service';
import { createDatabase, migrateLatest } from '../../src/db/database';
import { createKnexClaimStore } from '../../src/db/knex-claim-store';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, claimIn, OTHER_PARTNER_ID, partnerOf } from '../support/factories';

let policy: CompiledPolicy;
beforeAll(async () => {
  policy = await compiledBundledPolicy();
});

describe('a transition on SQLite', () => {
  let dataDir: string;
  let knex: Knex;
  let service: ClaimService;
  let clock: ReturnType<typeof createVirtualClock>;
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cpor-tx-statements-'));
    knex = createDatabase({ dataDir });
    await migrateLatest(knex);
    clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
    service = createClaimService({ store: createKnexClaimStore(knex), policy, clock, ids: createSequentialIds() });
  });
  afterEach(async () => {
    await knex.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Two partners' submitted claims on one tenant and product: each is the other's rival. */
  async function rivals() {
    const mine = await claimIn(service, 'submitted');
    const theirs = await claimIn(service, 'submitted', {
      actors: { partner: partnerOf(OTHER_PARTNER_ID) },
      fields: { ...claimFields(), partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID },
    });
    return { mine, theirs };
  }

  it('prepares no statement once a transition of its kind ran: BEGIN, its reads and writes and COMMIT are reused', async () => {
    const { mine, theirs } = await rivals();
    clock.set(new Date('2026-03-02T18:00:00Z'));
    await service.act(mine.id, 'startReview', ACTORS.reviewer, {});
    const connection = (await knex.client.acquireConnection()) as SqliteConnection;
    await knex.client.releaseConnection(connection);
    const prepared: string[] = [];
    const prepare = connection.prepare.bind(connection);
    connection.prepare = ((sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    }) as typeof connection.prepare;
    clock.set(new Date('2026-03-02T19:00:00Z'));
    const { claim } = await service.act(theirs.id, 'startReview', ACTORS.reviewer, {});
    expect(claim.state).toBe('underReview');
    expect(prepared).toEqual([]);
  });

  it('writes only what startReview changed: the claim columns that changed, the deadline met in place and the new one, the product row, both conflict markers, its history entry and decision', async () => {
    const { mine, theirs } = await rivals();
    clock.set(new Date('2026-03-02T18:00:00Z'));
    const statements: string[] = [];
    knex.on('query', (query: { sql: string }) => statements.push(query.sql.replace(/ values \(.*$| on conflict .*$/, '').replace(/^(select .*? from \w+) .*( where .*)$/, '$1 …$2')));
    await service.act(mine.id, 'startReview', ACTORS.reviewer, {});
    expect(statements).toEqual([
      'BEGIN IMMEDIATE',
      'select id, version, data from claims where id = ?',
      'update claims set version = ?, state = ?, status = ?, updated_at = ?, data = ? where id = ? and version = ?',
      'update claim_deadlines set status = ?, ended_at = ? where claim_id = ? and id = ?',
      'insert into claim_deadlines (claim_id, id, name, status, started_at, due, due_at, ended_at, lapsed)',
      'update claim_products set status = ?, state = ? where claim_id = ? and product_code = ?',
      'select claim_id from claim_products where tenant_id = ? and product_code = ? and partner_id <> ?',
      'select claims.created_at, mine.state, theirs.state as rival from claim_products … where mine.claim_id = ?',
      'insert into claim_conflicts (claim_id, created_at, state, rival_states)',
      'select claims.created_at, mine.state, theirs.state as rival from claim_products … where mine.claim_id = ?',
      'insert into claim_conflicts (claim_id, created_at, state, rival_states)',
      'insert into claim_history (claim_id, seq, at, actor_role, actor_id, event, from_state, to_state, payload, entry, prev_hash, hash)',
      'insert into decisions (claim_id, author_role, author_id, at, kind, policy_id, policy_version, input_digest, result, rules_fired)',
      'COMMIT',
    ]);
    const stored = await knex('claims').where({ id: mine.id }).first();
    expect(stored).toMatchObject({ version: mine.version + 1, state: 'underReview', status: 'underReview', updated_at: '2026-03-02T18:00:00.000Z' });
    expect(await knex('claim_conflicts').select('claim_id', 'state', 'rival_states').orderBy('claim_id')).toEqual([
      { claim_id: mine.id, state: 'underReview', rival_states: '|submitted|' },
      { claim_id: theirs.id, state: 'submitted', rival_states: '|underReview|' },
    ]);
  });

  it('a transaction that throws rolls back on the driver and frees the connection for the next one', async () => {
    const { mine } = await rivals();
    await expect(
      service.act(mine.id, 'startReview', ACTORS.reviewer, {}, {
        withChange: async () => {
          throw new Error('the answer could not be kept');
        },
      }),
    ).rejects.toThrow('the answer could not be kept');
    expect((await service.getClaim(mine.id)).state).toBe('submitted');
    const { claim } = await service.act(mine.id, 'startReview', ACTORS.reviewer, {});
    expect(claim.version).toBe(mine.version + 1);
  });
});
