/** CLI commands that run against the configured service: serve, token, audit verify. */
import { mintToken } from './auth/mint-token';
import { loadOrCreateSecret } from './auth/load-or-create-secret';
import { verifyChain } from './claims/history-chain';
import { ConfigError, loadConfig, type Config } from './config';
import { createDatabase } from './db/database';
import { createKnexClaimStore } from './db/knex-claim-store';
import { startService } from './server';
import { BUNDLED_POLICY_DIR } from './simulate/policy-files';
import type { Output } from './simulate/scenario-commands';

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
    running = await startService(config);
  } catch (error) {
    out.stderr(`cpor serve: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  const service = running;
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
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
  const secret = await loadOrCreateSecret(config.dataDir, config.jwtSecret);
  out.stdout(
    `${await mintToken({ secret, ...options, issuer: config.jwtIssuer, audience: config.jwtAudience, maxLifetimeSeconds: config.jwtMaxLifetimeSeconds })}\n`,
  );
  return 0;
}

export async function auditVerifyCommand(options: { claimId?: string }, out: Output): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  const knex = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const store = createKnexClaimStore(knex);
    const ids = options.claimId ? [options.claimId] : await store.allClaimIds();
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
