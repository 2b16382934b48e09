/** CLI commands that run against the configured service: serve, token, audit verify. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { mintToken } from '../auth/mint-token';
import { loadOrCreateSecret } from '../auth/load-or-create-secret';
import { verifyChain } from '../claims/history-chain';
import { ConfigError, loadConfig, type Config } from '../config';
import { createDatabase, SQLITE_FILE_NAME } from '../db/database';
import { createKnexClaimStore } from '../db/knex-claim-store';
import { PolicyError, formatIssue } from '../rules/load-policy';
import { createPolicyRegistry } from '../policies/policy-registry';
import { BUNDLED_POLICY_DIR } from '../simulate/policy-files';
import type { Output } from './scenario-commands';

function configOrExplain(out: Output): Config | undefined {
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

export async function serveCommand(out: Output): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  let running;
  try {
    // Loaded on demand: token, audit and backtest need no Express.
    running = await (await import('../server')).startService(config);
  } catch (error) {
    out.stderr(`cpor serve: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  const service = running;
  return new Promise<number>((resolve) => {
    let parentWatch: NodeJS.Timeout | undefined;
    const stop = (signal: string) => {
      clearInterval(parentWatch);
      service.logger.info({ signal }, 'shutting down');
      service.close().then(
        () => resolve(0),
        (error: unknown) => {
          service.logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Started by an npm script (npm start): if npm goes away without passing its signal on (a
    // shell between them, npm killed), stop rather than stay behind orphaned and listening.
    if (process.env.npm_lifecycle_event !== undefined) {
      const parent = process.ppid;
      parentWatch = setInterval(() => {
        if (process.ppid !== parent) stop('parent exited');
      }, 500);
      parentWatch.unref();
    }
  });
}

export async function tokenCommand(
  options: { role: string; partnerId?: string; tenantId?: string; subject?: string; expiresIn?: string },
  out: Output,
): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  if (config.jwksUrl) {
    out.stderr('cpor token: JWKS_URL is set: tokens come from your identity provider, not from this command.\n');
    return 1;
  }
  // A token the service would refuse is no use: check the role against the policy in effect.
  const refusal = await tokenRefusal(config, options);
  if (refusal) {
    out.stderr(`cpor token: ${refusal}\n`);
    return 2;
  }
  const secret = await loadOrCreateSecret(config.dataDir, config.jwtSecret);
  out.stdout(
    `${await mintToken({ secret, ...options, issuer: config.jwtIssuer, audience: config.jwtAudience, maxLifetimeSeconds: config.jwtMaxLifetimeSeconds })}\n`,
  );
  return 0;
}

export async function auditVerifyCommand(options: { claimId?: string }, out: Output): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  const opened = await openExistingDatabase(config);
  if ('problem' in opened) {
    out.stderr(`cpor audit verify: ${opened.problem}\n`);
    return 1;
  }
  const { knex } = opened;
  try {
    const store = createKnexClaimStore(knex);
    if (options.claimId !== undefined && !(await store.getClaim(options.claimId))) {
      out.stderr(`cpor audit verify: claim ${options.claimId} does not exist\n`);
      return 1;
    }
    const ids = options.claimId !== undefined ? [options.claimId] : await store.allClaimIds();
    let broken = 0;
    let entries = 0;
    for (const id of ids) {
      const rows = await store.readHistoryForAudit(id);
      const verdict = verifyChain(rows.map((r) => r.entry));
      entries += verdict.entries;
      // The chain covers the entry; the columns beside it (for queries) must say the same.
      const edited = rows.find((r) => r.columnMismatch !== null);
      const first = [
        verdict.ok ? undefined : { seq: verdict.seq, problem: verdict.problem },
        edited ? { seq: edited.entry.seq, problem: `column ${edited.columnMismatch} differs from the hashed entry (it was edited)` } : undefined,
      ]
        .filter((x): x is { seq: number; problem: string } => x !== undefined)
        .sort((a, b) => a.seq - b.seq)[0];
      if (first) {
        broken += 1;
        out.stdout(`claim ${id}: entry ${first.seq} broken: ${first.problem}\n`);
      }
    }
    out.stdout(`${ids.length} claims, ${entries} history entries checked: ${broken === 0 ? 'every chain holds' : `${broken} broken`}\n`);
    return broken === 0 ? 0 : 1;
  } finally {
    await knex.destroy();
  }
}

/** Why the service would refuse a token with these claims (role unknown to the policy in effect, missing id), or undefined. */
async function tokenRefusal(config: Config, options: { role: string; partnerId?: string; tenantId?: string }): Promise<string | undefined> {
  let roles;
  try {
    const registry = await createPolicyRegistry({ path: config.policyPath, clock: { now: () => new Date() } });
    roles = registry.current(new Date()).policy.roles;
    registry.stop();
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return `the policies (${config.policyPath}) do not load:\n${error.issues.map(formatIssue).join('\n')}`;
  }
  const role = Object.hasOwn(roles, options.role) ? roles[options.role] : undefined;
  if (!role) return `"${options.role}" is not a role of the policy in effect; roles: ${Object.keys(roles).join(', ')}`;
  if (role.kind === 'partner' && !options.partnerId?.trim()) return `the partner role "${options.role}" needs --partner ID`;
  if (role.kind === 'customer' && !options.tenantId?.trim()) return `the customer role "${options.role}" needs --tenant ID`;
  return undefined;
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
