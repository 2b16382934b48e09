/**
 * knex's better-sqlite3 client, with transactions that begin IMMEDIATE.
 *
 * A deferred BEGIN takes its read snapshot first and then fails with SQLITE_BUSY when
 * another connection committed meanwhile; IMMEDIATE takes the write lock first and
 * then reads current data: the SQLite counterpart of PostgreSQL's SELECT … FOR UPDATE.
 * knex has no option for it, so its client is extended.
 */
import type { Database as SqliteConnection } from 'better-sqlite3';
import type { Knex } from 'knex';
import { preparedStatement, sqliteSql, type Announce, type StoreSql } from './store-sql';
// Imported (not required at run time) so the build bundles them with the rest of knex: one copy of knex loads.
import BetterSqlite3ClientModule from 'knex/lib/dialects/better-sqlite3/index.js';
import SqliteTransactionModule from 'knex/lib/dialects/sqlite3/execution/sqlite-transaction.js';

/** How long a transaction waits for another connection's write lock before it fails with SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

type KnexTransactionClass = new (client: Knex.Client, ...args: unknown[]) => object;

const BetterSqlite3Client = BetterSqlite3ClientModule as typeof Knex.Client;
const SqliteTransaction = SqliteTransactionModule as KnexTransactionClass;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isBusy = (error: unknown) => (error as { code?: unknown }).code === 'SQLITE_BUSY';

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY, waiting between tries without
 * blocking the event loop: better-sqlite3 is synchronous, so SQLite's own busy handler would
 * stall the whole process, and with it a holder of the lock in the same process (a second
 * pool on the same file). Connections therefore have `busy_timeout = 0`, set once.
 */
async function untilNotBusy<T>(attempt: () => T | Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= giveUpAt) throw error;
    }
    await pause(wait);
  }
}

class ImmediateSqliteTransaction extends SqliteTransaction {
  async begin(connection: SqliteConnection): Promise<void> {
    await untilNotBusy(() => connection.exec('BEGIN IMMEDIATE'));
  }
}

/** Pass as knex's `client` option, with `connection: { filename }`; give connections `busy_timeout = 0`. */
export class ImmediateSqliteClient extends BetterSqlite3Client {
  override transaction(container: unknown, config: unknown, outerTx: unknown): Knex.Transaction {
    return new ImmediateSqliteTransaction(this, container, config, outerTx) as unknown as Knex.Transaction;
  }

  /** A statement outside a transaction waits for another connection's write lock as BEGIN does. */
  _query(connection: SqliteConnection, query: unknown): Promise<unknown> {
    const base = (BetterSqlite3Client.prototype as unknown as { _query: (c: SqliteConnection, q: unknown) => Promise<unknown> })._query;
    const run = () => base.call(this, connection, query);
    // Inside a transaction this connection holds the write lock (IMMEDIATE): nothing to wait for.
    return connection.inTransaction ? run() : untilNotBusy(run);
  }
}

let transactions = 0;

/**
 * Runs `fn` in one SQLite transaction on the driver directly: a connection from knex's pool
 * (so it takes turns with every other use of it), BEGIN IMMEDIATE (waiting for another
 * connection's write lock as knex's transactions here do), then COMMIT, or ROLLBACK when `fn`
 * throws, each prepared once per connection. What knex's transaction does, without its
 * per-transaction machinery. The statements are still announced as knex `query` events (with a
 * transaction id) when someone listens.
 */
export async function immediateTransaction<T>(knex: Knex, fn: (sql: StoreSql) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as SqliteConnection;
  const txId = `sqlite-tx-${(transactions += 1)}`;
  const announce: Announce | undefined =
    knex.listenerCount('query') > 0
      ? (sql, params) => knex.client.emit('query', { sql, bindings: params, method: 'raw', __knexTxId: txId })
      : undefined;
  const control = (sql: string) => {
    announce?.(sql, []);
    return preparedStatement(connection, sql).run();
  };
  try {
    await untilNotBusy(() => control('BEGIN IMMEDIATE'));
    try {
      const result = await fn(sqliteSql(connection, announce));
      control('COMMIT');
      return result;
    } catch (error) {
      if (connection.inTransaction) control('ROLLBACK');
      throw error;
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
