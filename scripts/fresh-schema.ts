/**
 * What the migrations do to an empty SQLite database, recorded at build time
 * (dist/fresh-schema.json): scripts/build.mjs bundles this module to a temporary file and writes
 * what `freshSchemaFile` answers; the compiled service replays it on a new database file
 * (src/db/database.ts, replayFreshSchema) instead of running knex's migrator there.
 */
import { recordFreshSchema } from '../src/db/database';

/** The file's JSON for build `build`. */
export async function freshSchemaFile(build: string): Promise<string> {
  return `${JSON.stringify({ build, schema: await recordFreshSchema() })}\n`;
}
