/**
 * What the compiled service (dist/, what `npm start` runs) loads to start on SQLite: the pure-JS
 * dependencies are bundled into dist/, so none of them is read from node_modules; what is: the
 * native SQLite driver, the helpers the ahead-of-time ajv validators require, and what the build
 * leaves out on purpose (iconv-lite, mime-db); never the PostgreSQL driver (a postgres:// URL only).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module without type declarations
import { distIsCurrent } from '../../scripts/dist-state.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const isCurrent = distIsCurrent as (root: string) => boolean;
const dirs: string[] = [];

beforeAll(async () => {
  if (!isCurrent(ROOT)) await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
}, 60_000);
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts `cpor serve` from dist/ on a fresh SQLite folder, waits until /healthz and /readyz answer 200, stops it; answers the packages it loaded from node_modules. */
async function packagesLoadedByServe(): Promise<{ packages: Set<string>; ready: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-startup-'));
  dirs.push(dir);
  const modulesFile = join(dir, 'modules.txt');
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info', CPOR_LOADED_MODULES_FILE: modulesFile };
  delete env.DATABASE_URL;
  delete env.CPOR_POLICY;
  const child = spawn(process.execPath, ['--import', join(ROOT, 'test', 'support', 'record-loaded-modules.mjs'), join(ROOT, 'bin', 'cpor.mjs'), 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*cpor service listening/.exec(out);
      if (match) done(match[1]!);
    });
    void exited.then((code) => fail(new Error(`cpor serve exited with ${code}: ${out}`)));
  });
  const ready = [(await fetch(`${url}/healthz`)).status, (await fetch(`${url}/readyz`)).status];
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const packages = new Set(
    readFileSync(modulesFile, 'utf8')
      .split('\n')
      .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  return { packages, ready };
}

describe('the compiled service starting on SQLite', () => {
  it('reads neither knex, express nor pg from node_modules, the SQLite driver yes, and is ready', async () => {
    const { packages, ready } = await packagesLoadedByServe();
    expect(ready).toEqual([200, 200]);
    expect(packages.has('better-sqlite3')).toBe(true);
    for (const bundled of ['knex', 'lodash', 'express', 'yaml', 'prom-client', 'pino', 'json-rules-engine', 'xstate', 'pg']) expect(packages.has(bundled), bundled).toBe(false);
  }, 30_000);
});
