/**
 * A new SQLite database from the recorded migrations (src/db/database.ts, replayFreshSchema; the
 * build records them into dist/fresh-schema.json): the same schema, bookkeeping and rows as knex's
 * migrator gives, and only on an empty file with a recording of exactly today's migrations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, migrateLatest, migrationSource, migrationStatus, recordFreshSchema, replayFreshSchema, type FreshSchema } from '../../src/db/database';

const MIGRATIONS = await migrationSource.getMigrations([]);
const opened: Array<{ knex: Knex; dir: string }> = [];
afterAll(async () => {
  for (const { knex, dir } of opened.splice(0)) {
    await knex.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

function newDatabase(): Knex {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-fresh-schema-test-'));
  const knex = createDatabase({ dataDir: dir });
  opened.push({ knex, dir });
  return knex;
}

/** Everything the migrations leave: schema objects, knex's bookkeeping (without times) and the rows of every table. */
async function contents(knex: Knex) {
  const schema = (await knex.raw("select type, name, tbl_name, sql from sqlite_master order by type, name")) as Array<{ name: string; type: string }>;
  const rows: Record<string, unknown[]> = {};
  for (const { name, type } of schema) {
    if (type === 'table') rows[name] = (await knex.raw(`select * from "${name}"`)) as unknown[];
  }
  for (const row of rows.knex_migrations as Array<{ migration_time?: unknown }>) delete row.migration_time;
  const [{ user_version }] = (await knex.raw('pragma user_version')) as [{ user_version: number }];
  return { schema, rows, user_version };
}

const recorded = await recordFreshSchema();

describe('a new SQLite database from the recorded migrations', () => {
  it('holds what knex\'s migrator gives: schema, triggers, the FTS index, bookkeeping and rows; nothing is pending', async () => {
    const migrated = newDatabase();
    expect(await migrateLatest(migrated)).toEqual(MIGRATIONS);
    const replayed = newDatabase();
    expect(await replayFreshSchema(replayed, recorded)).toEqual(MIGRATIONS);
    expect(await contents(replayed)).toEqual(await contents(migrated));
    expect(await migrationStatus(replayed)).toEqual({ applied: MIGRATIONS, pending: [] });
    // The migrator finds nothing to do afterwards.
    expect(await migrateLatest(replayed)).toEqual([]);
  });

  it('a database that holds anything is left to the migrator (nothing replayed onto it)', async () => {
    const knex = newDatabase();
    await knex.raw('create table unrelated (x integer)');
    expect(await replayFreshSchema(knex, recorded)).toBeUndefined();
    expect(((await knex.raw("select name from sqlite_master")) as Array<{ name: string }>).map((r) => r.name)).toEqual(['unrelated']);
  });

  it('a recording of other migrations (one missing, one renamed, one more) or a malformed one is not replayed', async () => {
    const variants: unknown[] = [
      { ...recorded, migrations: recorded.migrations.slice(0, -1) },
      { ...recorded, migrations: [...recorded.migrations.slice(0, -1), 'renamed'] },
      { ...recorded, migrations: [...recorded.migrations, '20991231_999_future'] },
      { ...recorded, statements: recorded.statements.filter((s) => !/knex_migrations` \(`batch`/.test(s.sql)) },
      { migrations: recorded.migrations, statements: 'not a list' },
      { migrations: recorded.migrations, statements: [{ sql: 1 }] },
    ];
    for (const variant of variants) {
      const knex = newDatabase();
      expect(await replayFreshSchema(knex, variant as FreshSchema)).toBeUndefined();
      expect(await knex.raw('select name from sqlite_master')).toEqual([]);
    }
    expect(await replayFreshSchema(newDatabase(), undefined)).toBeUndefined();
  });
});
