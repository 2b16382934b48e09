/**
 * `cpor serve --demo`: the service on a throwaway SQLite file, with development sign-in and a
 * virtual clock anyone signed in may move. Anyone who reaches it may sign in as anyone, so it
 * never runs on a shared database or on an interface other machines can reach.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config';

/** Whether `host` is an address only this machine reaches. */
function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Why demo mode refuses to start with `config`; empty when it may. */
export function demoRefusals(config: Config): string[] {
  const refusals: string[] = [];
  if (config.databaseUrl !== undefined) {
    refusals.push('DATABASE_URL is set: demo mode runs on a throwaway SQLite file and never touches a shared database; unset DATABASE_URL.');
  }
  if (!isLoopback(config.host)) {
    refusals.push(
      `HOST=${config.host} is not a loopback address: in demo mode anyone who reaches the service may sign in as anyone, so it listens only on 127.0.0.1, ::1 or localhost.`,
    );
  }
  return refusals;
}

/** The demo's configuration: a fresh data directory (removed by `discard`), the generated development secret, no identity provider. */
export async function demoConfig(config: Config): Promise<{ config: Config; discard(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cpor-demo-'));
  const { jwtSecret: _secret, jwksUrl: _jwks, jwtIssuer: _issuer, jwtAudience: _audience, oidc: _oidc, ...rest } = config;
  return {
    config: { ...rest, dataDir },
    discard: () => rm(dataDir, { recursive: true, force: true }),
  };
}
