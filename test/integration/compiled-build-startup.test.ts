/**
 * What the compiled service (dist/, what `npm start` runs) loads to start on SQLite: the pure-JS
 * dependencies are bundled into dist/, so none of them is read from node_modules; what is: the
 * native SQLite driver, the helpers the ahead-of-time ajv validators require, and what the build
 * leaves out on purpose (iconv-lite, mime-db); never the PostgreSQL driver (a postgres:// URL only).
 */
import { isAscii } from 'node:buffer';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module without type declarations
import { codeCachePath, SERVICE_BUNDLE } from '../../scripts/code-cache.mjs';
// @ts-expect-error: plain JavaScript module without type declarations
import { distIsCurrent } from '../../scripts/dist-state.mjs';
import { createDatabase, migrationSource, migrationStatus } from '../../src/db/database';
import { parsePolicy, parsePolicyAheadOfTime, readParsedPolicies } from '../../src/rules/load-policy';
import { BUNDLED_POLICY_DIR } from '../../src/simulate/policy-files';

const ROOT = resolve(import.meta.dirname, '..', '..');
const isCurrent = distIsCurrent as (root: string) => boolean;
const dirs: string[] = [];

beforeAll(async () => {
  if (!isCurrent(ROOT)) await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
}, 60_000);
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts `node [nodeArgs] bin/cpor.mjs serve` with `env`; answers its URL once it listens, and `stop` (SIGTERM, then its exit code). */
async function startServe(nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'cpor.mjs'), 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
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
  return {
    url,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Starts `cpor serve` from dist/ on a fresh SQLite folder, waits until /healthz and /readyz answer 200, stops it; answers the packages it loaded from node_modules. */
async function packagesLoadedByServe(): Promise<{ packages: Set<string>; ready: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-startup-'));
  dirs.push(dir);
  const modulesFile = join(dir, 'modules.txt');
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info', CPOR_LOADED_MODULES_FILE: modulesFile };
  delete env.DATABASE_URL;
  delete env.CPOR_POLICY;
  const { url, stop } = await startServe(['--import', join(ROOT, 'test', 'support', 'record-loaded-modules.mjs')], env);
  const ready = [(await fetch(`${url}/healthz`)).status, (await fetch(`${url}/readyz`)).status];
  expect(await stop()).toBe(0);
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

const cachePathOf = codeCachePath as (distDir: string) => string;
const DIST = join(ROOT, 'dist');

/** In a fresh process: loads `distDir`'s one-file bundle as `cpor serve` does, then runs `cpor --version` from it; answers what became of the code cache and what it printed. */
async function runBundle(distDir: string): Promise<{ cache: string; stdout: string }> {
  const program = `const { loadServiceBundle } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'scripts', 'code-cache.mjs')).href)});
const bundle = loadServiceBundle(${JSON.stringify(distDir)});
const code = await bundle.exports.main(['--version']);
process.stdout.write('cache=' + bundle.cache + '\\n');
process.exitCode = code;`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', program], { cwd: ROOT });
  return { cache: /cache=(\w+)/.exec(stdout)?.[1] ?? '', stdout };
}

/** A copy of the package's root with dist/'s bundle and (when given) a code cache of these bytes. */
function copiedDist(cache?: (built: Buffer) => Buffer, bundle: (built: string) => string = (built) => built): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-code-cache-'));
  dirs.push(dir);
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', SERVICE_BUNDLE as string), bundle(readFileSync(join(DIST, SERVICE_BUNDLE as string), 'utf8')));
  if (cache) writeFileSync(cachePathOf(join(dir, 'dist')), cache(readFileSync(cachePathOf(DIST))));
  return join(dir, 'dist');
}

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest();

describe('cpor serve\'s one-file bundle and its V8 code cache (scripts/code-cache.mjs)', () => {
  it('the build writes a code cache that V8 accepts for the bundle it built', async () => {
    expect(await runBundle(DIST)).toEqual({ cache: 'used', stdout: `${VERSION}\ncache=used\n` });
  }, 30_000);

  it('the bundle is ASCII, so it is read as one-byte text with nothing to decode', () => {
    expect(isAscii(readFileSync(join(DIST, SERVICE_BUNDLE as string)))).toBe(true);
  });

  it('a corrupt code cache (a byte changed, or cut short) is ignored: the bundle compiles and runs', async () => {
    const flipped = copiedDist((built) => {
      const bytes = Buffer.from(built);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
      return bytes;
    });
    expect(await runBundle(flipped)).toEqual({ cache: 'corrupt', stdout: `${VERSION}\ncache=corrupt\n` });
    const truncated = copiedDist((built) => built.subarray(0, built.length >> 1));
    expect((await runBundle(truncated)).cache).toBe('corrupt');
    const garbage = copiedDist(() => Buffer.from('not a code cache'));
    expect((await runBundle(garbage)).cache).toBe('corrupt');
  }, 30_000);

  it('the code cache of another build of the bundle is ignored (stale), even of the same length', async () => {
    // One character changed: the same length, which is all V8's own check of a cache compares.
    const changed = copiedDist(
      (built) => built,
      (bundle) => bundle.replace(/"cpor service listening"/, '"cpor service listenin!"'),
    );
    expect(readFileSync(join(changed, SERVICE_BUNDLE as string)).length).toBe(readFileSync(join(DIST, SERVICE_BUNDLE as string)).length);
    expect((await runBundle(changed)).cache).toBe('stale');
  }, 30_000);

  it('a well-formed cache that V8 refuses (made for other code) is ignored', async () => {
    const other = new Script('1 + 1').createCachedData();
    const forOther = copiedDist((built) =>
      Buffer.concat([built.subarray(0, 8), sha256(readFileSync(join(DIST, SERVICE_BUNDLE as string))), sha256(other), other]),
    );
    expect(await runBundle(forOther)).toEqual({ cache: 'rejected', stdout: `${VERSION}\ncache=rejected\n` });
  }, 30_000);
});

/** Starts `cpor serve` from dist/ on a fresh SQLite folder with `env`, answers /readyz's body once it is ready, then stops it. */
async function readyzOfServe(env: Record<string, string>): Promise<{ details: { policy: { id: string; version: string } } }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-startup-'));
  dirs.push(dir);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info', ...env };
  delete childEnv.CPOR_POLICY;
  Object.assign(childEnv, env);
  delete childEnv.DATABASE_URL;
  const { url, stop } = await startServe([], childEnv);
  const answer = await fetch(`${url}/readyz`);
  const body = (await answer.json()) as { details: { policy: { id: string; version: string } } };
  expect(await stop()).toBe(0);
  expect(answer.status).toBe(200);
  return body;
}

describe('the migrations recorded by the build (dist/fresh-schema.json)', () => {
  it('are today\'s migrations, for the build in dist/, and the compiled service on a new file is migrated by replaying them', async () => {
    const file = JSON.parse(readFileSync(join(DIST, 'fresh-schema.json'), 'utf8')) as { build: string; schema: { migrations: string[] } };
    expect(readFileSync(join(DIST, SERVICE_BUNDLE as string), 'utf8')).toContain(JSON.stringify(file.build));
    expect(file.schema.migrations).toEqual(await migrationSource.getMigrations([]));
    const dir = mkdtempSync(join(tmpdir(), 'cpor-fresh-start-'));
    dirs.push(dir);
    await readyzOfServe({ DATA_DIR: join(dir, 'data') });
    const knex = createDatabase({ dataDir: join(dir, 'data') });
    try {
      expect(await migrationStatus(knex)).toEqual({ applied: file.schema.migrations, pending: [] });
      // One replay: every migration row carries the same instant (the migrator writes one per migration as it goes).
      const times = new Set(((await knex('knex_migrations').select('migration_time')) as Array<{ migration_time: string }>).map((r) => r.migration_time));
      expect(times.size).toBe(1);
    } finally {
      await knex.destroy();
    }
  }, 30_000);
});

describe('the bundled policies parsed by the build (dist/parsed-policies.json)', () => {
  const file = join(BUNDLED_POLICY_DIR, 'cpor.yaml');
  const text = readFileSync(file, 'utf8');

  it('hold the bundled policy as parsing it gives, for the build in dist/', () => {
    const parsedFile = readFileSync(join(DIST, 'parsed-policies.json'), 'utf8');
    const { build } = JSON.parse(parsedFile) as { build: string };
    expect(readFileSync(join(DIST, SERVICE_BUNDLE as string), 'utf8')).toContain(JSON.stringify(build));
    const parsed = readParsedPolicies(parsedFile, build);
    expect(parsed?.has(createHash('sha256').update(text).digest('hex'))).toBe(true);
    expect(parsePolicyAheadOfTime(text, file, parsed)).toEqual(parsePolicy(text, file));
  });

  it('a policy file changed between two starts of the compiled service is the one in service after the restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpor-policy-restart-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'cpor.yaml'), text);
    expect((await readyzOfServe({ CPOR_POLICY: dir })).details.policy).toEqual({ id: 'cpor', version: '2026.1' });
    writeFileSync(join(dir, 'cpor.yaml'), text.replace('version: "2026.1"', 'version: "2026.1-restarted"'));
    expect((await readyzOfServe({ CPOR_POLICY: dir })).details.policy).toEqual({ id: 'cpor', version: '2026.1-restarted' });
  }, 60_000);
});
