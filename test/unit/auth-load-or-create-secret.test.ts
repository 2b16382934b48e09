import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecret } from '../../src/auth/load-or-create-secret';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpor-secret-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateSecret', () => {
  it('uses JWT_SECRET as UTF-8 bytes when it is given', async () => {
    const env = 'x'.repeat(40);
    expect(Buffer.from(await loadOrCreateSecret(dir, env)).toString()).toBe(env);
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([['', 0], ['short', 5], ['é'.repeat(15), 30]])('refuses a JWT_SECRET of %j (%i bytes)', async (env, bytes) => {
    await expect(loadOrCreateSecret(dir, env)).rejects.toThrow(`at least 32 bytes long (it has ${bytes})`);
  });

  it('generates 32 random bytes into data/jwt-secret with mode 0600, and reads them back next time', async () => {
    const dataDir = join(dir, 'data');
    const first = await loadOrCreateSecret(dataDir);
    expect(first.byteLength).toBe(32);
    const file = join(dataDir, 'jwt-secret');
    expect(new Uint8Array(await readFile(file))).toEqual(first);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateSecret(dataDir)).toEqual(first);
  });

  it('ends with one secret when several callers start at once, leaving no temp files', async () => {
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecret(dir)));
    for (const secret of secrets) expect(secret).toEqual(secrets[0]);
    expect(new Uint8Array(await readFile(join(dir, 'jwt-secret')))).toEqual(secrets[0]);
    expect(await readdir(dir)).toEqual(['jwt-secret']);
  });

  it('refuses an existing secret file that is too short', async () => {
    await writeFile(join(dir, 'jwt-secret'), 'tiny');
    await expect(loadOrCreateSecret(dir)).rejects.toThrow(/4 bytes.*delete it/);
  });

  it('prefers JWT_SECRET over an existing file', async () => {
    await loadOrCreateSecret(dir);
    const env = 'y'.repeat(32);
    expect(Buffer.from(await loadOrCreateSecret(dir, env)).toString()).toBe(env);
  });
});
