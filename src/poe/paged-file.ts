/**
 * Random access to a file through a small page cache: what the content sniffer reads
 * (the prefix file-type sees, a zip's central directory, an OLE2 file's FAT and directory) without
 * holding the whole file in memory.
 */
import { readSync } from 'node:fs';

/** The reads the sniffer makes; a Buffer is one, and so is a PagedFile. */
export interface ByteSource {
  readonly length: number;
  readUInt8(offset: number): number;
  readUInt16LE(offset: number): number;
  readUInt32LE(offset: number): number;
  readBigUInt64LE(offset: number): bigint;
  toString(encoding: BufferEncoding, start: number, end: number): string;
  /** Bytes [start, end) (clamped to the file), as Buffer.subarray answers them. */
  subarray(start: number, end: number): Uint8Array;
}

export interface PagedFile extends ByteSource {
  /** The most bytes the cache held at once: at most pageBytes × maxPages. */
  readonly peakBytes: number;
}

// Small pages: an OLE2 chain may hop between far-apart sectors, and each miss is a read of one page.
export const DEFAULT_PAGE_BYTES = 4 * 1024;
export const DEFAULT_MAX_PAGES = 256;

/**
 * A ByteSource over an open file descriptor of a file `size` bytes long that no one
 * writes any more. Reads are synchronous (a staged upload on local disk, a few pages);
 * the least recently used page is dropped past `maxPages`.
 */
export function createPagedFile(
  fd: number,
  size: number,
  options: { pageBytes?: number; maxPages?: number } = {},
): PagedFile {
  const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const pages = new Map<number, Buffer>();
  let held = 0;
  let peak = 0;

  const page = (index: number): Buffer => {
    const cached = pages.get(index);
    if (cached) {
      pages.delete(index);
      pages.set(index, cached);
      return cached;
    }
    const start = index * pageBytes;
    const buffer = Buffer.alloc(Math.min(pageBytes, size - start));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) throw new Error(`The file ended at ${start + read} bytes; ${size} were expected.`);
      read += n;
    }
    if (pages.size >= maxPages) {
      const [oldest, dropped] = pages.entries().next().value as [number, Buffer];
      pages.delete(oldest);
      held -= dropped.length;
    }
    pages.set(index, buffer);
    held += buffer.length;
    peak = Math.max(peak, held);
    return buffer;
  };

  const check = (offset: number, length: number) => {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > size) {
      throw new RangeError(`The offset ${offset} (+${length}) is out of range of a file of ${size} bytes.`);
    }
  };

  /** Bytes [start, end), copied out of the pages they span. */
  const slice = (start: number, end: number): Buffer => {
    const out = Buffer.alloc(end - start);
    for (let at = start; at < end; ) {
      const index = Math.floor(at / pageBytes);
      const from = page(index);
      const offset = at - index * pageBytes;
      const n = Math.min(from.length - offset, end - at);
      from.copy(out, at - start, offset, offset + n);
      at += n;
    }
    return out;
  };

  /** The page holding [offset, offset + length), when one does; else a copy of those bytes. */
  const view = (offset: number, length: number): [Buffer, number] => {
    check(offset, length);
    const index = Math.floor(offset / pageBytes);
    const within = offset - index * pageBytes;
    if (within + length <= pageBytes) return [page(index), within];
    return [slice(offset, offset + length), 0];
  };

  return {
    length: size,
    get peakBytes() {
      return peak;
    },
    readUInt8(offset) {
      const [buffer, at] = view(offset, 1);
      return buffer.readUInt8(at);
    },
    readUInt16LE(offset) {
      const [buffer, at] = view(offset, 2);
      return buffer.readUInt16LE(at);
    },
    readUInt32LE(offset) {
      const [buffer, at] = view(offset, 4);
      return buffer.readUInt32LE(at);
    },
    readBigUInt64LE(offset) {
      const [buffer, at] = view(offset, 8);
      return buffer.readBigUInt64LE(at);
    },
    toString(encoding, start, end) {
      const from = Math.max(0, start);
      const to = Math.min(size, end);
      if (to <= from) return '';
      return slice(from, to).toString(encoding);
    },
    subarray(start, end) {
      const from = Math.max(0, start);
      const to = Math.min(size, end);
      return to <= from ? Buffer.alloc(0) : slice(from, to);
    },
  };
}
