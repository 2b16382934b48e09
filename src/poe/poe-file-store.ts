/** Where PoE files live: content-addressed by SHA-256, outside any served folder. */
import type { Readable } from 'node:stream';
import type { ByteSource } from './paged-file';

export interface StoredFile {
  sha256: string;
  size: number;
}

/**
 * An upload written to a temp file (and hashed while it was written), not yet stored:
 * `commit` moves it to its content address, `discard` removes it. Until one of them
 * is called the temp file stays.
 */
export interface StagedFile extends StoredFile {
  /** Runs `read` over the staged bytes through a bounded page cache (never the whole file in memory). */
  inspect<T>(read: (bytes: ByteSource) => T | Promise<T>): Promise<T>;
  /** Stores the file under its address (the same content is stored once); the staged copy is gone afterwards. */
  commit(): Promise<StoredFile>;
  /** Removes the staged copy; harmless after commit or a second time. */
  discard(): Promise<void>;
}

export interface PoeFileStore {
  /** Stores the bytes (idempotent: the same content is stored once) and returns its address. */
  put(content: Buffer): Promise<StoredFile>;
  /**
   * Streams `source` to a temp file while hashing it; rejects (leaving nothing behind)
   * when the source fails or is destroyed before it ends.
   */
  stage(source: Readable): Promise<StagedFile>;
  /** Removes the file at this address (nothing when there is none). */
  remove(sha256: string): Promise<void>;
  /** Opens a stored file, or undefined when there is none with that address; an address that is not 64 lowercase hex characters is an InputError (invalidPoeAddress). */
  open(sha256: string): Promise<{ stream: Readable; size: number } | undefined>;
}
