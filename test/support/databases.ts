/**
 * The databases store tests run on, for `describe.each(DATABASES)`: the in-memory
 * stores, SQLite in a temporary file, and PostgreSQL in a throwaway cluster, started
 * by the first describe block of a test file that calls `useDatabase(db)` and
 * stopped when the file ends (one cluster per file, however many blocks use it).
 * Every `setup()` gives an empty database of its own.
 *
 *   describe.each(DATABASES)('$name', (db) => {
 *     useDatabase(db);
 *     let ctx: StoreSetup;
 *     beforeEach(async () => { ctx = await db.setup(); });
 *     afterEach(() => ctx.teardown());
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll } from 'vitest';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { commentsOf } from '../../src/db/claim-comments';
import { createDatabase, migrateLatest } from '../../src/db/database';
import { createKnexClaimStore, type KnexClaimStore } from '../../src/db/knex-claim-store';
import { createKnexIdempotencyStore } from '../../src/db/knex-idempotency-store';
import type { IdempotencyStore } from '../../src/idempotency/idempotency-store';
import { createMemoryIdempotencyStore } from '../../src/idempotency/memory-idempotency-store';
import { startPostgres, type PostgresCluster } from './postgres';

export type DatabaseName = 'memory' | 'sqlite' | 'postgres';

/** Stores on one connection pool. */
export interface StoreConnection {
  store: KnexClaimStore;
  idempotency: IdempotencyStore;
  /** The pool (absent for memory). */
  knex?: Knex;
}

export interface StoreSetup extends StoreConnection {
  /** A second pool on the same database, as a second service instance has (memory: the same stores). */
  connectAgain(): Promise<StoreConnection & { close(): Promise<void> }>;
  /** Closes every pool and deletes what setup created. */
  teardown(): Promise<void>;
}

export interface DatabaseFixture {
  name: DatabaseName;
  /** Whether the stores run on SQL (knex); memory does not. */
  sql: boolean;
  /** Makes the database available to this test file (starts the PostgreSQL cluster once); idempotent. */
  start(): Promise<void>;
  /** Stops it now. The test file's own afterAll (registered below) calls it after the file's last test. */
  stop(): Promise<void>;
  /** A fresh, empty database with stores on it; migrated unless `migrate: false`. */
  setup(options?: { migrate?: boolean }): Promise<StoreSetup>;
  /**
   * The environment a service or CLI process started from its configuration needs to use a fresh,
   * empty (unmigrated) database of this kind: `DATABASE_URL` for PostgreSQL; nothing for SQLite
   * (the process keeps its file under its own DATA_DIR).
   */
  serviceEnv(): Promise<{ DATABASE_URL?: string }>;
}

/** Starts the fixture in the enclosing describe block's beforeAll; it stops when the test file ends. */
export function useDatabase(fixture: DatabaseFixture): void {
  beforeAll(() => fixture.start(), 120_000);
}

function knexConnection(knex: Knex): StoreConnection {
  return { store: createKnexClaimStore(knex), idempotency: createKnexIdempotencyStore(knex), knex };
}

/** Builds a setup over a database that `open` connects to; `dispose` deletes it afterwards. */
async function knexSetup(
  open: () => Knex,
  migrate: boolean,
  dispose: () => Promise<void> = async () => {},
): Promise<StoreSetup> {
  const pools: Knex[] = [];
  const connect = () => {
    const knex = open();
    pools.push(knex);
    return knex;
  };
  const knex = connect();
  if (migrate) await migrateLatest(knex);
  return {
    ...knexConnection(knex),
    async connectAgain() {
      const again = connect();
      return { ...knexConnection(again), close: () => again.destroy() };
    },
    async teardown() {
      await Promise.all(pools.map((pool) => pool.destroy()));
      await dispose();
    },
  };
}

export const memoryDatabase: DatabaseFixture = {
  name: 'memory',
  sql: false,
  async start() {},
  async stop() {},
  async setup() {
    const claims = createMemoryClaimStore();
    const store: KnexClaimStore = {
      ...claims,
      listComments: async (claimId) => commentsOf(await claims.listHistory(claimId)),
      recordPoeFile: async () => {},
      // Keeps no file facts: says every file is named, so nothing is ever removed on its word.
      hasPoeFile: async () => true,
      readHistoryForAudit: async (claimId) =>
        (await claims.listHistory(claimId)).map((entry) => ({ entry, columnMismatch: null })),
    };
    const idempotency = createMemoryIdempotencyStore();
    return {
      store,
      idempotency,
      connectAgain: async () => ({ store, idempotency, close: async () => {} }),
      teardown: async () => {},
    };
  },
  serviceEnv() {
    throw new Error('the memory store is not a database a service runs on');
  },
};

export const sqliteDatabase: DatabaseFixture = {
  name: 'sqlite',
  sql: true,
  async start() {},
  async stop() {},
  async setup({ migrate = true } = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'cpor-sqlite-'));
    return knexSetup(
      () => createDatabase({ dataDir }),
      migrate,
      async () => rmSync(dataDir, { recursive: true, force: true }),
    );
  },
  async serviceEnv() {
    return {};
  },
};

/** PostgreSQL: one cluster per test file, a new schema (search_path) of its database per setup. */
function createPostgresDatabase(): DatabaseFixture {
  let cluster: Promise<PostgresCluster> | undefined;
  let schemas = 0;
  return {
    name: 'postgres',
    sql: true,
    async start() {
      cluster ??= startPostgres().catch((error: unknown) => {
        cluster = undefined;
        throw error;
      });
      await cluster;
    },
    async stop() {
      const stopping = cluster;
      cluster = undefined;
      if (stopping) await (await stopping).stop();
    },
    async setup({ migrate = true } = {}) {
      if (!cluster) throw new Error('the postgres fixture is not started: call useDatabase(db) in the describe block');
      const databaseUrl = await (await cluster).createSchema(`cpor_${++schemas}`);
      return knexSetup(() => createDatabase({ databaseUrl, dataDir: tmpdir() }), migrate);
    },
    async serviceEnv() {
      if (!cluster) throw new Error('the postgres fixture is not started: call useDatabase(db) in the describe block');
      return { DATABASE_URL: await (await cluster).createSchema(`cpor_${++schemas}`) };
    },
  };
}

export const postgresDatabase: DatabaseFixture = createPostgresDatabase();

/** Every database the stores must behave the same on. */
export const DATABASES: readonly DatabaseFixture[] = [memoryDatabase, sqliteDatabase, postgresDatabase];

/**
 * The databases the service runs on, for HTTP and CLI suites (the memory store is the stores'
 * reference, not a deployment): `describe.each(SERVICE_DATABASES)('on $name', (db) => { useDatabase(db); … })`.
 */
export const SERVICE_DATABASES: readonly DatabaseFixture[] = [sqliteDatabase, postgresDatabase];

// Registered while the importing test file is collected, so it belongs to that file's
// suite and runs once after all of its describe blocks: several describe.each blocks
// in one file share one PostgreSQL cluster. (Test files are isolated: each imports
// this module afresh.)
// Outside vitest (a bench importing the multi-process harness) there is no suite to belong to.
if (process.env.VITEST) {
  afterAll(async () => {
    for (const fixture of DATABASES) await fixture.stop();
  }, 60_000);
}
