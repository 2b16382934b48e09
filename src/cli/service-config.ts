/** What the commands that run against the configured service share: its configuration and its existing database. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { ConfigError, loadConfig, type Config } from '../config';
import { createDatabase, SQLITE_FILE_NAME } from '../db/database';
import { BUNDLED_POLICY_DIR } from '../simulate/policy-files';
import type { Output } from './output';

/** The configuration of the service, or undefined after saying on stderr why it is wrong. */
export function configOrExplain(out: Output): Config | undefined {
  try {
    return loadConfig(process.env, { policyPath: BUNDLED_POLICY_DIR });
  } catch (error) {
    if (error instanceof ConfigError) {
      out.stderr(`cpor: ${error.message}\n`);
      return undefined;
    }
    throw error;
  }
}

/**
 * The service's database, only if it exists: commands that read it never create an empty
 * SQLite file (or data directory) and never meet a database without the service's tables.
 */
export async function openExistingDatabase(config: Config): Promise<{ knex: Knex } | { problem: string }> {
  const hint = 'start the service once (cpor serve) or set DATABASE_URL/DATA_DIR';
  if (config.databaseUrl === undefined) {
    const file = join(config.dataDir, SQLITE_FILE_NAME);
    if (!existsSync(file)) return { problem: `no database at ${file}; ${hint}` };
  }
  const knex = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const where = config.databaseUrl === undefined ? join(config.dataDir, SQLITE_FILE_NAME) : 'DATABASE_URL';
  let problem: string | undefined;
  try {
    if (!(await knex.schema.hasTable('claims'))) problem = `no CPOR database at ${where} (it has no claims table); ${hint}`;
  } catch (error) {
    problem = `cannot open the database at ${where}: ${(error as Error).message}`;
  }
  if (problem === undefined) return { knex };
  await knex.destroy();
  return { problem };
}
