import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/domain/errors';
import { createFsPoeFileStore } from '../../src/poe/fs-poe-file-store';
import type { PoeFileStore } from '../../src/poe/poe-file-store';

let dir: string;
let store: PoeFileStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpor-poe-'));
  store = createFsPoeFileStore(join(dir, 'poe'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/')).sort();
}

describe('createFsPoeFileStore', () => {
  it('stores content under ab/cd/<sha256> and returns its address and size', async () => {
    const content = Buffer.from('%PDF-1.7 signed statement of work');
    const hash = sha256(content);
    await expect(store.put(content)).resolves.toEqual({ sha256: hash, size: content.length });
    expect(await listFiles(join(dir, 'poe'))).toEqual([`${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`]);
    expect(await readFile(join(dir, 'poe', hash.slice(0, 2), hash.slice(2, 4), hash))).toEqual(content);
  });

  it('opens a stored file as a stream with its size', async () => {
    const content = Buffer.alloc(300_000, 7);
    const { sha256: address } = await store.put(content);
    const opened = await store.open(address);
    expect(opened?.size).toBe(content.length);
    expect(await readAll(opened!.stream)).toEqual(content);
  });

  it('stores the same content once, without rewriting it', async () => {
    const content = Buffer.from('same bytes');
    const first = await store.put(content);
    const path = join(dir, 'poe', first.sha256.slice(0, 2), first.sha256.slice(2, 4), first.sha256);
    const before = await stat(path);
    const second = await store.put(Buffer.from('same bytes'));
    expect(second).toEqual(first);
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await listFiles(join(dir, 'poe'))).toHaveLength(1);
  });

  it('leaves no temp files behind, also when the same content is put concurrently', async () => {
    const contents = Array.from({ length: 20 }, (_, i) => Buffer.from(`document ${i % 5}`));
    const stored = await Promise.all(contents.map((content) => store.put(content)));
    const files = await listFiles(join(dir, 'poe'));
    expect(files).toHaveLength(5);
    expect(files.every((file) => /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(file))).toBe(true);
    for (const [i, { sha256: address }] of stored.entries()) {
      expect(await readAll((await store.open(address))!.stream)).toEqual(contents[i]);
    }
  });

  it('never exposes a half-written temp file under the final name', async () => {
    const content = Buffer.from('complete content');
    const hash = sha256(content);
    const folder = join(dir, 'poe', hash.slice(0, 2), hash.slice(2, 4));
    // What a crash mid-write leaves: a temp file, never the final name.
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `.${hash}.deadbeef0000.tmp`), content.subarray(0, 4));
    await expect(store.open(hash)).resolves.toBeUndefined();
    await store.put(content);
    expect(await readAll((await store.open(hash))!.stream)).toEqual(content);
  });

  it('removes its temp file when the final rename fails', async () => {
    const content = Buffer.from('cannot land');
    const hash = sha256(content);
    const folder = join(dir, 'poe', hash.slice(0, 2), hash.slice(2, 4));
    await mkdir(join(folder, hash, 'blocker'), { recursive: true });
    await expect(store.put(content)).rejects.toThrow();
    expect(await readdir(folder)).toEqual([hash]);
  });

  it('stores an empty file', async () => {
    const stored = await store.put(Buffer.alloc(0));
    expect(stored).toEqual({ sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0 });
    const opened = await store.open(stored.sha256);
    expect(opened?.size).toBe(0);
    expect(await readAll(opened!.stream)).toEqual(Buffer.alloc(0));
  });

  it('answers undefined for a well-formed address with no file', async () => {
    await expect(store.open('0'.repeat(64))).resolves.toBeUndefined();
  });

  it.each([
    ['a path', '../../../../etc/passwd'],
    ['a path with a valid-looking tail', `../${'a'.repeat(61)}`],
    ['upper-case hex', 'A'.repeat(64)],
    ['63 characters', 'a'.repeat(63)],
    ['65 characters', 'a'.repeat(65)],
    ['non-hex letters', 'g'.repeat(64)],
    ['an empty string', ''],
    ['a trailing newline', `${'a'.repeat(64)}\n`],
    ['a separator inside', `ab/cd/${'a'.repeat(58)}`],
  ])('refuses %s as an address', async (_label, address) => {
    const error = await store.open(address).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('invalidPoeAddress');
  });
});

describe('staging an upload', () => {
  const chunksOf = (content: Buffer, size = 4096) =>
    Readable.from((function* () {
      for (let at = 0; at < content.length; at += size) yield content.subarray(at, at + size);
    })());

  it('hashes the stream while writing it to a temp file under the PoE folder, and stores it only on commit', async () => {
    const content = Buffer.alloc(200_000, 3);
    content.write('%PDF-1.7', 0);
    const staged = await store.stage(chunksOf(content));
    expect(staged).toMatchObject({ sha256: sha256(content), size: content.length });
    const waiting = await listFiles(join(dir, 'poe'));
    expect(waiting).toEqual([expect.stringMatching(/^\.staging\/[0-9a-f]+\.tmp$/)]);
    await expect(store.open(staged.sha256)).resolves.toBeUndefined();
    expect(await staged.inspect((bytes) => bytes.toString('latin1', 0, 8))).toBe('%PDF-1.7');

    await expect(staged.commit()).resolves.toEqual({ sha256: staged.sha256, size: content.length });
    const hash = staged.sha256;
    expect(await listFiles(join(dir, 'poe'))).toEqual([`${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`]);
    expect(await readAll((await store.open(hash))!.stream)).toEqual(content);
  });

  it('a discarded upload leaves nothing behind', async () => {
    const staged = await store.stage(chunksOf(Buffer.from('refused')));
    await staged.discard();
    await staged.discard();
    expect(await listFiles(join(dir, 'poe'))).toEqual([]);
    await expect(staged.commit()).rejects.toThrow(/discarded/);
  });

  it('a source that breaks off rejects and leaves no temp file', async () => {
    const source = new PassThrough();
    const staging = store.stage(source);
    source.write(Buffer.alloc(10_000, 1));
    setImmediate(() => source.destroy(new Error('Unexpected end of form')));
    await expect(staging).rejects.toThrow('Unexpected end of form');
    expect(await listFiles(join(dir, 'poe'))).toEqual([]);
  });

  it('committing content already stored keeps the stored file and drops the temp one', async () => {
    const content = Buffer.from('same content twice');
    const first = await store.put(content);
    const path = join(dir, 'poe', first.sha256.slice(0, 2), first.sha256.slice(2, 4), first.sha256);
    const before = await stat(path);
    const staged = await store.stage(chunksOf(content, 5));
    await expect(staged.commit()).resolves.toEqual(first);
    expect((await stat(path)).ino).toBe(before.ino);
    expect(await listFiles(join(dir, 'poe'))).toHaveLength(1);
  });
});

describe('sweeping staged uploads', () => {
  it('removes staged files older than the age given and keeps younger ones', async () => {
    const fsStore = createFsPoeFileStore(join(dir, 'poe'));
    const staged = await fsStore.stage(Readable.from([Buffer.from('left by a crash')]));
    await expect(fsStore.sweepStaging(60_000)).resolves.toBe(0);
    expect(await listFiles(join(dir, 'poe'))).toHaveLength(1);
    await expect(fsStore.sweepStaging(60_000, new Date(Date.now() + 61_000))).resolves.toBe(1);
    expect(await listFiles(join(dir, 'poe'))).toEqual([]);
    await staged.discard();
  });

  it('has nothing to sweep before the first upload', async () => {
    await expect(createFsPoeFileStore(join(dir, 'never-used')).sweepStaging(0)).resolves.toBe(0);
  });
});
