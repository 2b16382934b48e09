/**
 * Opens the service's database: an SQLite file under the data directory by default,
 * PostgreSQL when a `postgres://` URL is configured. Migrations are imported
 * statically (the service runs its TypeScript through tsx, so knex's directory
 * loader cannot be relied on).
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Database as SqliteConnection } from 'better-sqlite3';
import * as initial from '../../migrations/20261124_001_initial';
import * as decisionsConflicts from '../../migrations/20261124_002_decisions_conflicts';
import * as tenantKeys from '../../migrations/20261130_003_tenant_keys';
import * as decisionAuthors from '../../migrations/20261130_004_decision_authors';
import * as workSharing from '../../migrations/20261130_006_work_sharing';
import { ImmediateSqliteClient, SQLITE_BUSY_TIMEOUT_MS } from './immediate-sqlite-client';

export interface DatabaseConfig {
  /** `postgres://…` or `postgresql://…`; unset: SQLite under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
}

/** Name of the SQLite file inside the data directory. */
export const SQLITE_FILE_NAME = 'cpor.sqlite';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Every migration, oldest first. Add new ones at the end. */
const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ['20261124_001_initial', initial],
  ['20261124_002_decisions_conflicts', decisionsConflicts],
  ['20261130_003_tenant_keys', tenantKeys],
  ['20261130_004_decision_authors', decisionAuthors],
  ['20261130_006_work_sharing', workSharing],
];

/** A knex migration source over the statically imported migrations. */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return MIGRATIONS.map(([name]) => name);
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    const found = MIGRATIONS.find(([n]) => n === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

/** Builds a knex instance for the configured database (it connects lazily). */
export function createDatabase(config: DatabaseConfig): Knex {
  if (config.databaseUrl !== undefined) {
    const protocol = new URL(config.databaseUrl).protocol;
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      throw new Error(`databaseUrl: expected a postgres:// or postgresql:// URL, got ${protocol}`);
    }
    return knexFactory({
      client: 'pg',
      connection: { connectionString: config.databaseUrl },
      pool: { min: 0, max: 10 },
    });
  }
  // Claims hold customers' names and contacts: a new data directory and database file are the
  // service account's alone (SQLite gives its -wal and -shm files the database file's mode).
  // Existing ones keep the mode an operator gave them.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const filename = join(config.dataDir, SQLITE_FILE_NAME);
  closeSync(openSync(filename, 'a', 0o600));
  return createSqliteDatabase(filename);
}

/** An SQLite database in `filename`; every connection gets the service's pragmas. */
function createSqliteDatabase(filename: string): Knex {
  return knexFactory({
    client: ImmediateSqliteClient,
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void) {
        try {
          // WAL + synchronous=NORMAL: a committed transaction survives the process being killed;
          // only an OS crash or power loss can lose the last few.
          connection.pragma('journal_mode = WAL');
          connection.pragma('synchronous = NORMAL');
          connection.pragma('foreign_keys = ON');
          connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
}

/**
 * Applies every pending migration; returns the names applied. Instances starting
 * together take turns: one that finds the migrations locked waits for the other, and
 * one that loses the race to create knex's bookkeeping tables tries again (a failed
 * migration is rolled back, so trying it again is harmless; it fails the same way).
 */
export async function migrateLatest(knex: Knex, lockWaitMs = 60_000): Promise<string[]> {
  const giveUpAt = Date.now() + lockWaitMs;
  for (let failures = 0; ; ) {
    try {
      const [, applied] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
      return applied;
    } catch (error) {
      const locked = (error as Error).name === 'MigrationLocked';
      if (!locked) failures++;
      if (failures >= 3 || Date.now() >= giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, locked ? 200 : 50));
    }
  }
}

/** Undoes the most recent migration; returns the names undone. */
export async function migrateDown(knex: Knex): Promise<string[]> {
  const [, undone] = (await knex.migrate.down({ migrationSource })) as [number, string[]];
  return undone;
}

/** Names of migrations applied and pending. */
export async function migrationStatus(knex: Knex): Promise<{ applied: string[]; pending: string[] }> {
  const [completed, pending] = (await knex.migrate.list({ migrationSource })) as [Array<{ name: string }>, string[]];
  return { applied: completed.map((m) => m.name), pending };
}
