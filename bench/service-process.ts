/**
 * Real server processes for the benches: `cpor serve` (the compiled build, as `npm start` runs
 * it) on SQLite in a temporary data folder, or any other node script; each on a free port, ready
 * when its URL answers. Their CPU time (user + system of every thread) is read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mintToken, type MintTokenOptions } from '../src/auth/mint-token';

const ROOT = resolve(import.meta.dirname, '..');
const TICK_MICROS = 10_000; // USER_HZ is 100 on Linux

export interface BenchProcess {
  url: string;
  /** CPU time (user + system, all threads) the process has used so far, in µs. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

export interface BenchService extends BenchProcess {
  /** `Bearer <token>` for a caller with these claims, signed with the service's secret. */
  bearer(claims: Omit<MintTokenOptions, 'secret'>): Promise<string>;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

function cpuMicrosOf(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

/** Spawns `node args…` with PORT set to a free port and waits until `readyPath` answers 2xx. */
export async function startNodeProcess(args: string[], env: NodeJS.ProcessEnv, readyPath: string, cleanup = () => {}): Promise<BenchProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (i > 1200 || child.exitCode !== null) throw new Error(`${args.join(' ')} did not start`);
    if (await fetch(`${url}${readyPath}`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    cpuMicros: () => cpuMicrosOf(child),
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      cleanup();
    },
  };
}

/** One `cpor serve` on SQLite in a temporary data folder, with `env` added (settings such as EVALUATION_CACHE_SIZE). */
export async function startSqliteService(env: Record<string, string> = {}): Promise<BenchService> {
  const secret = randomBytes(32).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-service-'));
  const base: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, JWT_SECRET: secret, LOG_LEVEL: 'warn', ...env };
  delete base.DATABASE_URL;
  delete base.CPOR_POLICY;
  const started = await startNodeProcess([join(ROOT, 'bin', 'cpor.mjs'), 'serve'], base, '/readyz', () => rmSync(dataDir, { recursive: true, force: true }));
  return { ...started, bearer: async (claims) => `Bearer ${await mintToken({ secret: new TextEncoder().encode(secret), ...claims })}` };
}
