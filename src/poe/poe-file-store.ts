/** Where PoE files live: content-addressed by SHA-256, outside any served folder. */
import type { Readable } from 'node:stream';

export interface StoredFile {
  sha256: string;
  size: number;
}

export interface PoeFileStore {
  /** Stores the bytes (idempotent: the same content is stored once) and returns its address. */
  put(content: Buffer): Promise<StoredFile>;
  /** Opens a stored file, or undefined when there is none with that address; an address that is not 64 lowercase hex characters is an InputError (invalidPoeAddress). */
  open(sha256: string): Promise<{ stream: Readable; size: number } | undefined>;
}
