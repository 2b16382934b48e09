/**
 * PoE files on the local file system, content-addressed: `${dir}/ab/cd/<sha256>`; uploads
 * being received are staged under `${dir}/.staging/` (same file system, so the move is a rename).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '../domain/errors';
import { createPagedFile } from './paged-file';
import type { PoeFileStore, StagedFile, StoredFile } from './poe-file-store';

const ADDRESS = /^[0-9a-f]{64}$/;

export interface FsPoeFileStore extends PoeFileStore {
  /**
   * Removes staged uploads untouched for `olderThanMs` (what a crash mid-upload leaves); an upload
   * still being received is written to at least every POE_UPLOAD_IDLE_MS, so a longer age is safe
   * also with other instances sharing the folder. Answers how many were removed.
   */
  sweepStaging(olderThanMs: number, now?: Date): Promise<number>;
}

/** A PoeFileStore under `dir`; files are written to a temp file, fsynced, then renamed into place. */
export function createFsPoeFileStore(dir: string): FsPoeFileStore {
  const folderOf = (sha256: string) => join(dir, sha256.slice(0, 2), sha256.slice(2, 4));
  const pathOf = (sha256: string) => join(folderOf(sha256), sha256);
  const stagingDir = join(dir, '.staging');

  /** Moves a complete temp file to the address of its content (or drops it when that content is already stored). */
  async function land(temp: string, sha256: string, size: number): Promise<StoredFile> {
    const path = pathOf(sha256);
    if ((await sizeOf(path)) === size) {
      await unlink(temp).catch(() => undefined);
      return { sha256, size };
    }
    const folder = folderOf(sha256);
    try {
      await mkdir(folder, { recursive: true, mode: 0o750 });
      // Two writers of the same content rename identical bytes over each other: harmless.
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncFolder(folder);
    return { sha256, size };
  }

  return {
    async sweepStaging(olderThanMs, now = new Date()) {
      let names: string[];
      try {
        names = await readdir(stagingDir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw error;
      }
      let removed = 0;
      for (const name of names.filter((n) => n.endsWith('.tmp'))) {
        const path = join(stagingDir, name);
        const modified = await stat(path).then((s) => s.mtimeMs, () => undefined);
        if (modified === undefined || now.getTime() - modified < olderThanMs) continue;
        await unlink(path).then(() => removed++, () => undefined);
      }
      return removed;
    },

    async stage(source: Readable): Promise<StagedFile> {
      // The source may fail before the pipeline below takes it over: that failure is the pipeline's to report.
      source.on('error', () => undefined);
      await mkdir(stagingDir, { recursive: true, mode: 0o750 });
      const temp = join(stagingDir, `${randomBytes(12).toString('hex')}.tmp`);
      const handle = await open(temp, 'wx', 0o640);
      const hash = createHash('sha256');
      let size = 0;
      try {
        // Hashed as written, one chunk at a time: backpressure holds the rest in the socket.
        const writing = new Writable({
          write(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            size += chunk.length;
            handle.write(chunk).then(() => done(), done);
          },
        });
        await pipeline(source, writing);
        await handle.sync();
      } catch (error) {
        await handle.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      await handle.close();
      const sha256 = hash.digest('hex');
      let state: 'staged' | 'committed' | 'discarded' = 'staged';
      return {
        sha256,
        size,
        async inspect(read) {
          if (state !== 'staged') throw new Error(`The staged upload ${sha256} was already ${state}.`);
          const reader = await open(temp, 'r');
          try {
            return await read(createPagedFile(reader.fd, size));
          } finally {
            await reader.close();
          }
        },
        async commit() {
          if (state !== 'staged') throw new Error(`The staged upload ${sha256} was already ${state}.`);
          state = 'committed';
          return land(temp, sha256, size);
        },
        async discard() {
          if (state !== 'staged') return;
          state = 'discarded';
          await unlink(temp).catch(() => undefined);
        },
      };
    },

    async put(content: Buffer): Promise<StoredFile> {
      const sha256 = createHash('sha256').update(content).digest('hex');
      const stored = { sha256, size: content.length };
      const path = pathOf(sha256);
      if ((await sizeOf(path)) === content.length) return stored;

      const folder = folderOf(sha256);
      await mkdir(folder, { recursive: true, mode: 0o750 });
      // Same folder as the target, so rename() stays on one file system and is atomic.
      const temp = join(folder, `.${sha256}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const handle = await open(temp, 'wx', 0o640);
        try {
          await handle.writeFile(content);
          await handle.sync();
        } finally {
          await handle.close();
        }
        // Two writers of the same content rename identical bytes over each other: harmless.
        await rename(temp, path);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      await syncFolder(folder);
      return stored;
    },

    async remove(sha256: string) {
      if (!ADDRESS.test(sha256)) {
        throw new InputError('invalidPoeAddress', 'A PoE file address is 64 lowercase hexadecimal characters (its SHA-256).');
      }
      await unlink(pathOf(sha256)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },

    async open(sha256: string) {
      if (!ADDRESS.test(sha256)) {
        throw new InputError('invalidPoeAddress', 'A PoE file address is 64 lowercase hexadecimal characters (its SHA-256).');
      }
      let handle;
      try {
        handle = await open(pathOf(sha256), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      try {
        const { size } = await handle.stat();
        // The stream owns the handle from here and closes it when it ends or is destroyed.
        return { stream: handle.createReadStream(), size };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },
  };
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Makes the rename durable; not every platform can fsync a directory, and a failure there loses nothing already written. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open directories for fsync.
  }
}
