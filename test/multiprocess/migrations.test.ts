/**
 * Migrations at start-up, when many instances start at once and when a killed process left
 * knex's lock table behind: every instance comes up, each migration is applied once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateDown, migrateLatest, migrationSource, migrationStatus } from '../../src/db/database';
import { postgresDatabase, sqliteDatabase, useDatabase, type StoreSetup } from '../support/databases';

const MIGRATIONS = await migrationSource.getMigrations([]);
/** How long a test lets an instance wait for the migration lock: a stuck lock fails fast. */
const LOCK_WAIT_MS = 5_000;

describe.each([sqliteDatabase, postgresDatabase])('migrations on $name', (db) => {
  useDatabase(db);
  let fresh: StoreSetup;
  beforeEach(async () => {
    fresh = await db.setup({ migrate: false });
  });
  afterEach(() => fresh.teardown());

  it('twenty instances migrating an empty database at once all succeed and apply each migration once', async () => {
    const pools = [fresh.knex!, ...(await Promise.all(Array.from({ length: 19 }, async () => (await fresh.connectAgain()).knex!)))];
    const results = await Promise.allSettled(pools.map((knex) => migrateLatest(knex, 30_000)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures).toEqual([]);
    expect(results.flatMap((r) => (r.status === 'fulfilled' ? r.value : [])).sort()).toEqual(MIGRATIONS);
    expect(await migrationStatus(fresh.knex!)).toEqual({ applied: MIGRATIONS, pending: [] });
    expect(await fresh.knex!('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
  }, 60_000);

  it('a lock left by a killed process (a locked row, and a second row) does not stop the next start', async () => {
    const knex = fresh.knex!;
    await migrateLatest(knex);
    expect(await migrateDown(knex)).toEqual([MIGRATIONS.at(-1)]);
    // What a process killed while holding knex's lock outside a transaction, and two
    // instances racing to create the lock table, leave behind.
    await knex('knex_migrations_lock').update({ is_locked: 1 });
    await knex('knex_migrations_lock').insert({ is_locked: 1 });

    const again = (await fresh.connectAgain()).knex!;
    expect(await migrateLatest(again, LOCK_WAIT_MS)).toEqual([MIGRATIONS.at(-1)]);
    expect(await migrationStatus(again)).toEqual({ applied: MIGRATIONS, pending: [] });
    expect(await again('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
  }, 60_000);
});
