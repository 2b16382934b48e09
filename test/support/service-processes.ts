/**
 * Several real `cpor serve` processes (`node bin/cpor.mjs serve`) on one throwaway
 * PostgreSQL 15 cluster, for the multi-process tests and the scale-out bench.
 *
 *   const services = await startServiceProcesses({ count: 2 });   // spawned at once, then waited for
 *   afterAll(() => services.stop());                               // kills them, stops the cluster
 *   const auth = await services.bearer({ role: 'incentivesAdmin' });
 *   await fetch(`${services.urls[0]}/v1/claims`, { headers: { authorization: auth } });
 *   await services.kill(1);            // SIGKILL; resolves once the process is gone
 *   await services.restart(1);         // same port, same database; resolves once /readyz is 200
 *   await services.postgres.restartImmediate();   // PostgreSQL crashes and recovers
 *
 * Each instance has its own fixed port (kept across restarts); all share the database, one
 * DATA_DIR (PoE files, as shared storage would be) and one JWT_SECRET, which `token`/`bearer`
 * sign with (tokens valid for an hour of real time). `cluster` reuses a cluster the caller owns
 * (a fresh database is created in it; start it `crashSafe` to restart it); otherwise a crash-safe
 * one is started and stopped with the services.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mintToken } from '../../src/auth/mint-token';
import { startPostgres, type PostgresCluster } from './postgres';

/** Who a token is for (the test app's TokenClaims; not imported from it, so the bench can use this file outside vitest). */
interface TokenClaims {
  role: string;
  partnerId?: string;
  tenantId?: string;
  /** The token's subject; default derived from role and ids. */
  id?: string;
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const CPOR = join(ROOT, 'bin', 'cpor.mjs');
/** Kept of each process's output, for failure messages. */
const OUTPUT_LIMIT = 64 * 1024;

export interface ServiceProcessesOptions {
  /** How many instances (default 2). */
  count?: number;
  /** Extra environment for every instance (LOG_LEVEL, SCHEDULER_INTERVAL_MS, …). */
  env?: Record<string, string>;
  /** A running cluster to use (the caller stops it); default: one of the services' own. */
  cluster?: PostgresCluster;
  /** Wait until every instance is ready (default true); false: call `waitReady` yourself. */
  wait?: boolean;
  /** How long `waitReady` waits by default (ms; default 120 s: 2 shared cores, tsx on a cold cache). */
  readyTimeoutMs?: number;
}

export interface ServiceProcesses {
  postgres: PostgresCluster;
  /** The database every instance uses. */
  databaseUrl: string;
  /** Base URL of each instance (`http://127.0.0.1:<port>`), by index; stable across restarts. */
  urls: readonly string[];
  /** Resolves once instance `i` (default: every one) answers /readyz with 200; rejects, with its output, if it exits first. */
  waitReady(i?: number, timeoutMs?: number): Promise<void>;
  /** SIGKILLs instance `i`; resolves once it has exited. */
  kill(i: number): Promise<void>;
  /** Starts instance `i` again (killing it first if it runs) and waits until it is ready. */
  restart(i: number): Promise<void>;
  /** Whether instance `i`'s process is running. */
  alive(i: number): boolean;
  /** What instance `i` wrote on stdout and stderr (its last 64 kB, all runs). */
  output(i: number): string;
  /** A token the instances accept, and the same as an Authorization header value. */
  token(claims: TokenClaims): Promise<string>;
  bearer(claims: TokenClaims): Promise<string>;
  /** Kills every instance, stops the cluster if it is the services' own, deletes DATA_DIR. */
  stop(): Promise<void>;
}

interface Instance {
  port: number;
  child?: ChildProcess;
  exited?: Promise<void>;
  output: string;
}

let databases = 0;

/** Starts `count` instances at once on a fresh database; see the file's comment. */
export async function startServiceProcesses(options: ServiceProcessesOptions = {}): Promise<ServiceProcesses> {
  const count = options.count ?? 2;
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const ownCluster = options.cluster === undefined;
  const postgres = options.cluster ?? (await startPostgres({ crashSafe: true }));
  const databaseUrl = ownCluster
    ? postgres.url
    : await postgres.createDatabase(`cpor_services_${process.pid}_${++databases}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-services-'));
  const secret = randomBytes(32).toString('hex');
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) instances.push({ port: await freePort(), output: '' });
  const urls = instances.map((instance) => `http://127.0.0.1:${instance.port}`);

  const environment = (port: number): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      JWT_SECRET: secret,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...options.env,
    };
    delete env.CPOR_POLICY;
    return env;
  };

  const spawnInstance = (i: number) => {
    const instance = instances[i]!;
    const child = spawn(process.execPath, [CPOR, 'serve'], {
      cwd: ROOT,
      env: environment(instance.port),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      instance.output = (instance.output + chunk.toString()).slice(-OUTPUT_LIMIT);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    instance.child = child;
    instance.exited = new Promise((r) => child.once('exit', () => r()));
  };

  const alive = (i: number) => {
    const child = instances[i]?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  };

  const waitOne = async (i: number, timeoutMs: number) => {
    const instance = instances[i];
    if (!instance) throw new Error(`no instance ${i} (there are ${instances.length})`);
    const giveUpAt = Date.now() + timeoutMs;
    for (;;) {
      if (!alive(i)) throw new Error(`instance ${i} (port ${instance.port}) exited before it was ready:\n${instance.output}`);
      try {
        const response = await fetch(`${urls[i]}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
      } catch {
        // Not listening yet, or the database is not back.
      }
      if (Date.now() > giveUpAt) throw new Error(`instance ${i} (port ${instance.port}) not ready after ${timeoutMs} ms:\n${instance.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const kill = async (i: number) => {
    const instance = instances[i];
    if (!instance) throw new Error(`no instance ${i} (there are ${instances.length})`);
    if (alive(i)) instance.child!.kill('SIGKILL');
    await instance.exited;
  };

  const killAll = () => {
    for (const instance of instances) instance.child?.kill('SIGKILL');
  };
  // A run that dies without calling stop() must not leave services behind.
  process.once('exit', killAll);

  for (let i = 0; i < count; i++) spawnInstance(i);
  const services: ServiceProcesses = {
    postgres,
    databaseUrl,
    urls,
    async waitReady(i, timeoutMs = readyTimeoutMs) {
      if (i !== undefined) return waitOne(i, timeoutMs);
      await Promise.all(instances.map((_, j) => waitOne(j, timeoutMs)));
    },
    kill,
    async restart(i) {
      await kill(i);
      spawnInstance(i);
      await waitOne(i, readyTimeoutMs);
    },
    alive,
    output: (i) => instances[i]?.output ?? '',
    token: (claims) =>
      mintToken({
        secret: new TextEncoder().encode(secret),
        role: claims.role,
        ...(claims.partnerId !== undefined ? { partnerId: claims.partnerId } : {}),
        ...(claims.tenantId !== undefined ? { tenantId: claims.tenantId } : {}),
        ...(claims.id !== undefined ? { subject: claims.id } : {}),
        expiresIn: '1h',
      }),
    bearer: async (claims) => `Bearer ${await services.token(claims)}`,
    async stop() {
      process.removeListener('exit', killAll);
      await Promise.all(instances.map((_, i) => kill(i)));
      if (ownCluster) await postgres.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.wait !== false) {
    try {
      await services.waitReady();
    } catch (error) {
      await services.stop();
      throw error;
    }
  }
  return services;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}
