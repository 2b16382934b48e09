// knex's own modules that src/db/immediate-sqlite-client.ts extends (knex ships no types for them).
declare module 'knex/lib/dialects/better-sqlite3/index.js' {
  const client: unknown;
  export = client;
}
declare module 'knex/lib/dialects/sqlite3/execution/sqlite-transaction.js' {
  const transaction: unknown;
  export = transaction;
}
