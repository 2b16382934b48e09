/**
 * Plain SQL for the store's hot paths, the same text on SQLite and PostgreSQL (`?`
 * placeholders). On SQLite it runs on the transaction's better-sqlite3 connection
 * directly, each statement prepared once per connection and reused (knex would compile the
 * query and SQLite prepare it afresh every time); on PostgreSQL it goes through knex.
 */
import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import type { Knex } from 'knex';
import { isPostgres } from './claim-rows';

export type SqlValue = string | number | boolean | null;
export type SqlRow = Record<string, SqlValue>;

export interface StoreSql {
  readonly postgres: boolean;
  all<T>(sql: string, params: readonly SqlValue[]): Promise<T[]>;
  /** Answers the number of rows changed. */
  run(sql: string, params: readonly SqlValue[]): Promise<number>;
  /** Inserts `rows` (all with the same columns) into `table`. */
  insert(table: string, rows: readonly SqlRow[]): Promise<void>;
}

/** Statements prepared on each connection, by SQL text. A connection's statements go with it. */
const prepared = new WeakMap<SqliteConnection, Map<string, Statement>>();

function statement(connection: SqliteConnection, sql: string): Statement {
  let statements = prepared.get(connection);
  if (!statements) prepared.set(connection, (statements = new Map()));
  let found = statements.get(sql);
  if (!found) statements.set(sql, (found = connection.prepare(sql)));
  return found;
}

/** better-sqlite3 binds no booleans (knex turns them into 0/1 too). */
const bindable = (params: readonly SqlValue[]) => params.map((p) => (typeof p === 'boolean' ? Number(p) : p));

function insertSql(table: string, columns: readonly string[]): string {
  return `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`;
}

/** The store's SQL inside `trx`. */
export async function storeSql(trx: Knex.Transaction): Promise<StoreSql> {
  if (isPostgres(trx)) {
    return {
      postgres: true,
      async all<T>(sql: string, params: readonly SqlValue[]) {
        return ((await trx.raw(sql, params as SqlValue[])) as { rows: T[] }).rows;
      },
      async run(sql, params) {
        return ((await trx.raw(sql, params as SqlValue[])) as { rowCount: number }).rowCount;
      },
      async insert(table, rows) {
        for (let i = 0; i < rows.length; i += 100) await trx(table).insert(rows.slice(i, i + 100));
      },
    };
  }
  // Inside a transaction knex hands out the transaction's own connection.
  const connection = (await trx.client.acquireConnection()) as SqliteConnection;
  return {
    postgres: false,
    async all<T>(sql: string, params: readonly SqlValue[]) {
      return statement(connection, sql).all(bindable(params)) as T[];
    },
    async run(sql, params) {
      return statement(connection, sql).run(bindable(params)).changes;
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0]!);
      const insert = statement(connection, insertSql(table, columns));
      for (const row of rows) insert.run(bindable(columns.map((c) => row[c] ?? null)));
    },
  };
}
