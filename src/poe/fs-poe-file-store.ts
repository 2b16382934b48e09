/** PoE files on the local file system, content-addressed: `${dir}/ab/cd/<sha256>`. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../domain/errors';
import type { PoeFileStore, StoredFile } from './poe-file-store';

const ADDRESS = /^[0-9a-f]{64}$/;

/** A PoeFileStore under `dir`; files are written to a temp file, fsynced, then renamed into place. */
export function createFsPoeFileStore(dir: string): PoeFileStore {
  const folderOf = (sha256: string) => join(dir, sha256.slice(0, 2), sha256.slice(2, 4));
  const pathOf = (sha256: string) => join(folderOf(sha256), sha256);

  return {
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
