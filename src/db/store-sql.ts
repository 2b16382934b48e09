/**
 * Plain SQL for the store's hot paths, the same text on SQLite and PostgreSQL (`?`
 * placeholders). On SQLite it runs on the better-sqlite3 connection directly, each statement
 * prepared once per connection and reused (knex would compile the query and SQLite prepare it
 * afresh every time); on PostgreSQL it goes through the knex transaction.
 */
import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import type { Knex } from 'knex';

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

/** A statement prepared once per connection (the store's hot statements, transaction control). */
export function preparedStatement(connection: SqliteConnection, sql: string): Statement {
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

/** Something that watches the statements run (knex's `query` event); absent: nobody listens. */
export type Announce = (sql: string, params: readonly SqlValue[]) => void;

/** The store's SQL inside a knex transaction on PostgreSQL. */
export function postgresSql(trx: Knex.Transaction): StoreSql {
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

/** The store's SQL on an SQLite connection (inside the transaction the caller began on it). */
export function sqliteSql(connection: SqliteConnection, announce?: Announce): StoreSql {
  const prepare = (sql: string, params: readonly SqlValue[]) => {
    announce?.(sql, params);
    return preparedStatement(connection, sql);
  };
  return {
    postgres: false,
    async all<T>(sql: string, params: readonly SqlValue[]) {
      return prepare(sql, params).all(bindable(params)) as T[];
    },
    async run(sql, params) {
      return prepare(sql, params).run(bindable(params)).changes;
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0]!);
      const text = insertSql(table, columns);
      for (const row of rows) {
        const params = columns.map((c) => row[c] ?? null);
        prepare(text, params).run(bindable(params));
      }
    },
  };
}
