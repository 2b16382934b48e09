/**
 * The compiled build (dist/, `npm run build`): what `npm start` and the `cpor` command run. Each
 * process here is started under test/support/no-typescript.mjs, which fails any load of a .ts
 * file or of tsx, in the main thread and in workers: the build needs no TypeScript at run time.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module without type declarations
import { distIsCurrent } from '../../scripts/dist-state.mjs';
import { claimFields } from '../support/claim-factory';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const CPOR = join(ROOT, 'bin', 'cpor.mjs');
const NO_TYPESCRIPT = ['--import', join(ROOT, 'test', 'support', 'no-typescript.mjs')];
const SECRET = 'compiled-build-test-secret-of-at-least-32-bytes';
const POE = { fileName: 'sow.pdf', customerSigned: true, signedOn: '2026-02-20', products: ['teams'], describesWork: true };
const isCurrent = distIsCurrent as (root: string) => boolean;

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  // `npm test` builds first; a test file run alone after an edit to src/ builds here.
  if (!isCurrent(ROOT)) await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
}, 60_000);
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function cpor(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: tempDir('cpor-build-'), JWT_SECRET: SECRET, ...options.env };
  delete env.CPOR_POLICY;
  delete env.DATABASE_URL;
  return run(process.execPath, [...NO_TYPESCRIPT, CPOR, ...args], { cwd: options.cwd ?? ROOT, env });
}

describe('the compiled build', () => {
  it('the guard used here fails a process that loads tsx', async () => {
    await expect(run(process.execPath, [...NO_TYPESCRIPT, '--input-type=module', '-e', "await import('tsx/esm/api')"], { cwd: ROOT })).rejects.toThrow(
      /TypeScript at run time/,
    );
  });

  it('cpor --version prints the package version with no TypeScript loaded', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await cpor(['--version']);
    expect(stdout).toBe(`${version}\n`);
  });

  it('finds the bundled policies from any working directory (cpor token under the bundled roles)', async () => {
    const { stdout } = await cpor(['token', '--role', 'reviewer'], { cwd: tempDir('cpor-elsewhere-') });
    expect(stdout.trim()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('runs a scenario file from the command line', async () => {
    const { stdout } = await cpor(['test', join(ROOT, 'scenarios', 'dispute-approved.yaml')]);
    expect(stdout).toMatch(/1 passed, 0 failed/);
  });

  it('the service runs a simulation in its compiled worker', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: tempDir('cpor-build-serve-'), JWT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    delete env.CPOR_POLICY;
    delete env.DATABASE_URL;
    const child: ChildProcess = spawn(process.execPath, [...NO_TYPESCRIPT, CPOR, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const url = await new Promise<string>((resolveUrl, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
          if (match) resolveUrl(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${output}`)));
      });
      const { stdout: token } = await cpor(['token', '--role', 'programManager'], { env: { DATA_DIR: env.DATA_DIR! } });
      const scenario = {
        name: 'Simulated by the compiled worker',
        claim: claimFields(),
        steps: [
          { at: '2026-03-02T17:00:00Z', by: 'incentivesAdmin', do: 'create' },
          { at: '2026-03-02T17:05:00Z', by: 'incentivesAdmin', do: 'uploadPoe', with: POE },
          { at: '2026-03-02T17:10:00Z', by: 'incentivesAdmin', do: 'submit', expect: { status: 'submitted' } },
        ],
      };
      const res = await fetch(`${url}/v1/simulate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token.trim()}` },
        body: JSON.stringify(scenario),
      });
      const body = (await res.json()) as { passed?: boolean; final?: { status?: string } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ passed: true, final: { status: 'submitted' } });
      expect(output).not.toMatch(/TypeScript at run time/);
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});

describe('which code bin/cpor.mjs runs', () => {
  const project = (src: number, built: number | null) => {
    const root = tempDir('cpor-dist-state-');
    mkdirSync(join(root, 'src', 'claims'), { recursive: true });
    mkdirSync(join(root, 'dist'));
    const file = join(root, 'src', 'claims', 'a.ts');
    writeFileSync(file, '');
    utimesSync(file, src, src);
    if (built !== null) {
      writeFileSync(join(root, 'dist', '.built'), '');
      utimesSync(join(root, 'dist', '.built'), built, built);
    }
    return root;
  };

  it('the build when it is newer than every source', () => {
    expect(isCurrent(project(1_000, 2_000))).toBe(true);
  });

  it('the sources when one of them changed after the build', () => {
    expect(isCurrent(project(3_000, 2_000))).toBe(false);
  });

  it('the sources when there is no build', () => {
    expect(isCurrent(project(1_000, null))).toBe(false);
  });
});
