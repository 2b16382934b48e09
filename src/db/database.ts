/**
 * Opens the service's database: an SQLite file under the data directory by default,
 * PostgreSQL when a `postgres://` URL is configured. Migrations are imported
 * statically (the service runs its TypeScript through tsx, so knex's directory
 * loader cannot be relied on).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import type { Database as SqliteConnection } from 'better-sqlite3';
import * as initial from '../../migrations/20261124_001_initial';
import * as decisionsConflicts from '../../migrations/20261124_002_decisions_conflicts';
import * as tenantKeys from '../../migrations/20261130_003_tenant_keys';
import * as decisionAuthors from '../../migrations/20261130_004_decision_authors';
import * as idempotencyLeases from '../../migrations/20261130_005_idempotency_leases';
import * as workSharing from '../../migrations/20261130_006_work_sharing';
import * as claimSearch from '../../migrations/20261130_007_claim_search';
import * as conflictMarker from '../../migrations/20261130_008_conflict_marker';
import * as shadowDecisions from '../../migrations/20261130_009_shadow_decisions';
import * as overdueMarker from '../../migrations/20261130_010_overdue_marker';
import { ImmediateSqliteClient } from './immediate-sqlite-client';

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
  ['20261130_005_idempotency_leases', idempotencyLeases],
  ['20261130_006_work_sharing', workSharing],
  ['20261130_007_claim_search', claimSearch],
  ['20261130_008_conflict_marker', conflictMarker],
  ['20261130_009_shadow_decisions', shadowDecisions],
  ['20261130_010_overdue_marker', overdueMarker],
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
          // Set once per connection: a write lock held elsewhere is waited for without blocking the
          // event loop (immediate-sqlite-client.ts), never in SQLite's busy handler.
          connection.pragma('busy_timeout = 0');
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
}

/**
 * Applies every pending migration; returns the names applied. Any number of instances may
 * start at once: they take turns under a migration lock (PostgreSQL: an advisory lock of
 * the schema, released by the server when its session ends, so a killed instance never
 * leaves it held; SQLite: a write transaction). Inside it, knex's own lock table is set to
 * its one unlocked row: whatever a killed process or a race to create it left there is
 * stale, since nobody else can be migrating. Gives up after `lockWaitMs` waiting for the lock.
 */
export async function migrateLatest(knex: Knex, lockWaitMs = 60_000): Promise<string[]> {
  if (knex.client.dialect !== 'postgresql') {
    const replayed = await replayFreshSchema(knex);
    if (replayed) return replayed;
  }
  return runMigrations(knex, lockWaitMs);
}

/** knex's migrator, under the migration lock: every pending migration. */
async function runMigrations(knex: Knex, lockWaitMs: number): Promise<string[]> {
  return underMigrationLock(knex, lockWaitMs, async () => {
    const [, applied] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
    return applied;
  });
}

/** Undoes the most recent migration; returns the names undone. */
export async function migrateDown(knex: Knex, lockWaitMs = 60_000): Promise<string[]> {
  return underMigrationLock(knex, lockWaitMs, async () => {
    const [, undone] = (await knex.migrate.down({ migrationSource })) as [number, string[]];
    return undone;
  });
}

const KNEX_MIGRATIONS = 'knex_migrations';
const KNEX_LOCK = 'knex_migrations_lock';
/** First half of the advisory lock's key (the second: a hash of the schema's name). */
const MIGRATION_LOCK_CLASS = 0x43504f52; // "CPOR"

async function underMigrationLock<T>(knex: Knex, lockWaitMs: number, migrate: () => Promise<T>): Promise<T> {
  if (knex.client.dialect !== 'postgresql') {
    // SQLite: the write transaction (BEGIN IMMEDIATE) waits for any other writer, so only one
    // process at a time repairs or creates knex's tables; knex migrates in a transaction too.
    await knex.transaction((trx) => repairKnexLock(trx));
    return migrate();
  }
  const connection = (await knex.client.acquireConnection()) as PgConnection;
  try {
    const key = [MIGRATION_LOCK_CLASS, 'hashtext(current_schema())'] as const;
    const giveUpAt = Date.now() + lockWaitMs;
    for (;;) {
      const { rows } = await connection.query<{ locked: boolean }>(`select pg_try_advisory_lock(${key[0]}, ${key[1]}) as locked`);
      if (rows[0]?.locked) break;
      if (Date.now() >= giveUpAt) {
        throw new Error(`migrations: another instance has been migrating this database for over ${lockWaitMs} ms; try again later`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      await knex.transaction((trx) => repairKnexLock(trx));
      return await migrate();
    } finally {
      await connection.query(`select pg_advisory_unlock(${key[0]}, ${key[1]})`).catch(() => undefined);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

interface PgConnection {
  query<R>(sql: string): Promise<{ rows: R[] }>;
}

/**
 * Creates knex's bookkeeping tables if they are missing (as knex would) and leaves its lock
 * table with exactly one unlocked row. Run only under the migration lock.
 */
async function repairKnexLock(trx: Knex.Transaction): Promise<void> {
  if (!(await trx.schema.hasTable(KNEX_MIGRATIONS))) {
    await trx.schema.createTable(KNEX_MIGRATIONS, (t) => {
      t.increments();
      t.string('name');
      t.integer('batch');
      t.timestamp('migration_time');
    });
  }
  if (!(await trx.schema.hasTable(KNEX_LOCK))) {
    await trx.schema.createTable(KNEX_LOCK, (t) => {
      t.increments('index').primary();
      t.integer('is_locked');
    });
  }
  const rows: Array<{ is_locked: number }> = await trx(KNEX_LOCK).select('is_locked');
  if (rows.length === 1 && Number(rows[0]!.is_locked) === 0) return;
  await trx(KNEX_LOCK).delete();
  await trx(KNEX_LOCK).insert({ is_locked: 0 });
}

/** Names of migrations applied and pending. */
export async function migrationStatus(knex: Knex): Promise<{ applied: string[]; pending: string[] }> {
  const [completed, pending] = (await knex.migrate.list({ migrationSource })) as [Array<{ name: string }>, string[]];
  return { applied: completed.map((m) => m.name), pending };
}

/**
 * What the migrations do to an empty SQLite database, as the statements knex sent (reads and
 * transaction control left out), recorded by `recordFreshSchema`: the build writes it to
 * dist/fresh-schema.json for its own migrations list. Replaying it on an empty file is one
 * transaction of a few dozen statements instead of knex's migrator (its schema builders, lock
 * and bookkeeping), which cost most of a fresh start's database time.
 */
export interface FreshSchema {
  /** The migrations it holds, in order: it is used only when they are exactly MIGRATIONS. */
  migrations: string[];
  statements: Array<{ sql: string; bindings: unknown[] }>;
}

/** knex's bookkeeping row of one migration; its time is the replay's, not the recording's. */
const MIGRATION_ROW = /^insert into `knex_migrations` \(`batch`, `migration_time`, `name`\) values \(\?, \?, \?\)$/;
const READ_OR_TRANSACTION = /^\s*(select|begin|commit|rollback|savepoint|release)\b/i;

/** Runs the migrations on an empty SQLite file in a temporary folder and answers what they sent. */
export async function recordFreshSchema(): Promise<FreshSchema> {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-fresh-schema-'));
  const knex = createDatabase({ dataDir: dir });
  try {
    const statements: FreshSchema['statements'] = [];
    knex.on('query', (query: { sql: string; bindings?: unknown[] }) => {
      if (!READ_OR_TRANSACTION.test(query.sql)) statements.push({ sql: query.sql, bindings: query.bindings ?? [] });
    });
    const applied = await runMigrations(knex, 60_000);
    return { migrations: applied, statements };
  } finally {
    await knex.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The build's identity (scripts/build.mjs), defined only in the compiled build. */
declare const __CPOR_BUILD_ID__: string | undefined;

/** dist/fresh-schema.json: `{ build, schema: FreshSchema }`, written by scripts/build.mjs (scripts/fresh-schema.ts). */
const FRESH_SCHEMA_FILE = 'fresh-schema.json';

/** The build's recording when it is for this build and these migrations; undefined otherwise (or running the sources). */
function freshSchemaOfBuild(): FreshSchema | undefined {
  if (typeof __CPOR_BUILD_ID__ !== 'string') return undefined;
  try {
    const file = JSON.parse(readFileSync(fileURLToPath(new URL(`./${FRESH_SCHEMA_FILE}`, import.meta.url)), 'utf8')) as { build?: unknown; schema?: FreshSchema };
    return file.build === __CPOR_BUILD_ID__ ? file.schema : undefined;
  } catch {
    return undefined; // no such file, or not JSON: the migrator runs
  }
}

/**
 * On an empty SQLite database, replays `schema` (by default the build's) in one write transaction
 * and answers the migrations it applied; undefined, with nothing written, when there is no
 * recording of exactly MIGRATIONS or the database holds anything (then the migrator runs). The
 * write transaction is the migration lock: of instances starting at once on one new file, the
 * first replays and the others find tables and go through the migrator (nothing pending).
 */
export async function replayFreshSchema(knex: Knex, schema: FreshSchema | undefined = freshSchemaOfBuild()): Promise<string[] | undefined> {
  const names = MIGRATIONS.map(([name]) => name);
  if (!isFreshSchemaOf(schema, names)) return undefined;
  return knex.transaction(async (trx) => {
    const [{ entries }] = (await trx.raw('select count(*) as entries from sqlite_master')) as [{ entries: number }];
    if (entries > 0) return undefined;
    const now = new Date().toISOString();
    for (const { sql, bindings } of schema.statements) {
      await trx.raw(sql, (MIGRATION_ROW.test(sql) ? [bindings[0], now, bindings[2]] : bindings) as Knex.RawBinding[]);
    }
    return names;
  });
}

function isFreshSchemaOf(schema: FreshSchema | undefined, names: string[]): schema is FreshSchema {
  return (
    schema !== undefined &&
    Array.isArray(schema.migrations) &&
    schema.migrations.length === names.length &&
    schema.migrations.every((name, i) => name === names[i]) &&
    Array.isArray(schema.statements) &&
    schema.statements.every((s) => typeof s?.sql === 'string' && Array.isArray(s.bindings)) &&
    schema.statements.filter((s) => MIGRATION_ROW.test(s.sql)).length === names.length
  );
}
