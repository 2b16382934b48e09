import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_POE_TYPES, POE_MAX_BYTES } from '../../src/poe/allowed-poe-types';
import { createPagedFile, DEFAULT_MAX_PAGES, DEFAULT_PAGE_BYTES } from '../../src/poe/paged-file';
import { sanitizeFileName } from '../../src/poe/sanitize-file-name';
import { compoundFileNames, sniffContentType, zipEntryNames } from '../../src/poe/sniff-content-type';

// ---- tiny valid samples, built here rather than checked in ----

const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('0000000d49484452000000010000000108060000001f15c489', 'hex'),
]);
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');
const TIFF_LE = Buffer.from('49492a000800000000000000', 'hex');
const TIFF_BE = Buffer.from('4d4d002a0000000800000000', 'hex');

interface ZipEntry {
  name: string;
  data?: string;
}

/** A stored (uncompressed) zip: local headers, central directory, end record. */
function zip(entries: ZipEntry[], options: { comment?: string } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.from(entry.data ?? '', 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const comment = Buffer.from(options.comment ?? '', 'utf8');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, directory, end, comment]);
}

const CONTENT_TYPES = { name: '[Content_Types].xml', data: '<?xml version="1.0"?><Types/>' };
const ooxml = (...names: string[]) =>
  zip([CONTENT_TYPES, { name: '_rels/.rels', data: '<Relationships/>' }, ...names.map((name) => ({ name, data: '<x/>' }))]);
const DOCX = ooxml('word/document.xml', 'word/styles.xml');
const XLSX = ooxml('xl/workbook.xml', 'xl/worksheets/sheet1.xml');
const PPTX = ooxml('ppt/presentation.xml', 'ppt/slides/slide1.xml');

const FREE = 0xffffffff;
const END_OF_CHAIN = 0xfffffffe;
const FAT_SECTOR = 0xfffffffd;

/**
 * A minimal OLE2 compound file (512-byte sectors): header, one FAT sector, then the directory
 * (root + the given streams) at `directorySector`. A directory beyond the 109 FAT sectors the header
 * can list exercises the DIFAT chain.
 */
function compoundFile(streams: string[], directorySector = 1): Buffer {
  const sector = 512;
  const perFat = sector / 4;
  const fatIndex = Math.floor(directorySector / perFat);
  const difatSector = fatIndex >= 109 ? directorySector + 1 : undefined;
  const sectors = Math.max(directorySector, difatSector ?? 0) + 1;
  const file = Buffer.alloc((sectors + 1) * sector);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(file, 0);
  file.writeUInt16LE(0x3e, 0x18);
  file.writeUInt16LE(3, 0x1a);
  file.writeUInt16LE(0xfffe, 0x1c);
  file.writeUInt16LE(9, 0x1e);
  file.writeUInt16LE(6, 0x20);
  file.writeUInt32LE(fatIndex + 1, 0x2c);
  file.writeUInt32LE(directorySector, 0x30);
  file.writeUInt32LE(4096, 0x38);
  file.writeUInt32LE(END_OF_CHAIN, 0x3c);
  file.writeUInt32LE(difatSector ?? END_OF_CHAIN, 0x44);
  file.writeUInt32LE(difatSector === undefined ? 0 : 1, 0x48);
  // Sector 0 is the one real FAT sector; every FAT slot points at it (only the directory's entry is read).
  for (let i = 0; i < 109; i++) file.writeUInt32LE(i <= fatIndex ? 0 : FREE, 0x4c + i * 4);
  const fat = sector;
  for (let i = 0; i < perFat; i++) file.writeUInt32LE(FREE, fat + i * 4);
  file.writeUInt32LE(FAT_SECTOR, fat);
  file.writeUInt32LE(END_OF_CHAIN, fat + (directorySector % perFat) * 4);
  if (difatSector !== undefined) {
    const base = (difatSector + 1) * sector;
    for (let i = 0; i < perFat; i++) file.writeUInt32LE(FREE, base + i * 4);
    for (let i = 0; i < fatIndex - 109 + 1; i++) file.writeUInt32LE(0, base + i * 4);
    file.writeUInt32LE(END_OF_CHAIN, base + sector - 4);
  }
  const directory = (directorySector + 1) * sector;
  ['Root Entry', ...streams].forEach((name, i) => {
    const entry = directory + i * 128;
    const bytes = Buffer.from(`${name}\0`, 'utf16le');
    bytes.copy(file, entry);
    file.writeUInt16LE(bytes.length, entry + 0x40);
    file[entry + 0x42] = i === 0 ? 5 : 2;
  });
  return file;
}

const DOC = compoundFile(['WordDocument', '1Table', '\u0005SummaryInformation']);
const XLS = compoundFile(['Workbook', '\u0005SummaryInformation']);
const PPT = compoundFile(['PowerPoint Document', 'Current User']);

describe('sniffContentType', () => {
  it.each([
    ['PDF', PDF, 'application/pdf', 'pdf'],
    ['PNG', PNG, 'image/png', 'png'],
    ['JPEG', JPEG, 'image/jpeg', 'jpg'],
    ['TIFF (little-endian)', TIFF_LE, 'image/tiff', 'tiff'],
    ['TIFF (big-endian)', TIFF_BE, 'image/tiff', 'tiff'],
    ['DOCX', DOCX, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'],
    ['XLSX', XLSX, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
    ['PPTX', PPTX, 'application/vnd.openxmlformats-officedocument.presentationml.presentation', 'pptx'],
    ['DOC (OLE2)', DOC, 'application/msword', 'doc'],
    ['XLS (OLE2)', XLS, 'application/vnd.ms-excel', 'xls'],
    ['XLS (OLE2, BIFF5 "Book")', compoundFile(['Book']), 'application/vnd.ms-excel', 'xls'],
    ['PPT (OLE2)', PPT, 'application/vnd.ms-powerpoint', 'ppt'],
  ])('recognises %s', async (_label, content, contentType, extension) => {
    expect(await sniffContentType(content)).toMatchObject({ contentType, extension });
  });

  it('recognises an OOXML file whose end record has a comment', async () => {
    expect((await sniffContentType(zip([CONTENT_TYPES, { name: 'word/document.xml' }], { comment: 'made by hand' })))?.extension).toBe('docx');
  });

  it('reads an OLE2 directory reached through the DIFAT chain', async () => {
    const big = compoundFile(['WordDocument'], 109 * 128 + 5);
    expect(compoundFileNames(big)).toEqual(['Root Entry', 'WordDocument']);
    expect((await sniffContentType(big))?.extension).toBe('doc');
  });

  it.each([
    ['plain text', Buffer.from('I, the customer, agree.\n')],
    ['plain text that mentions %PDF- later', Buffer.from('see %PDF-1.7')],
    ['HTML', Buffer.from('<!doctype html><html><body>signed</body></html>')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['an empty file', Buffer.alloc(0)],
    ['a GIF', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')],
    ['a Windows executable', Buffer.from('MZ\x90\x00\x03\x00', 'latin1')],
    ['a plain zip', zip([{ name: 'readme.txt', data: 'hi' }])],
    ['a zip with [Content_Types].xml but no document part', zip([CONTENT_TYPES, { name: 'docProps/app.xml' }])],
    ['a zip with word/ but no [Content_Types].xml', zip([{ name: 'word/document.xml' }])],
    ['a macro-enabled Word file (docm)', ooxml('word/document.xml', 'word/vbaProject.bin')],
    ['a zip signature followed by garbage', Buffer.from('PK\x03\x04garbage-without-a-directory', 'latin1')],
    ['an OLE2 file with no Office stream (e.g. an Outlook .msg)', compoundFile(['__substg1.0_0037001F'])],
    ['a bare OLE2 signature', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])],
  ])('refuses %s', async (_label, content) => {
    expect(await sniffContentType(content)).toBeUndefined();
  });

  /** An OOXML package whose [Content_Types].xml declares its main part, as Office writes it. */
  const declaring = (main: string, ...names: string[]) =>
    zip([
      { name: '[Content_Types].xml', data: `<?xml version="1.0"?><Types><Override PartName="/main.xml" ContentType="${main}.main+xml"/></Types>` },
      { name: '_rels/.rels', data: '<Relationships/>' },
      ...names.map((name) => ({ name, data: '<x/>' })),
    ]);

  it.each([
    ['a Word document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'word/document.xml', 'docx'],
    ['an Excel workbook', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xl/workbook.xml', 'xlsx'],
    ['a PowerPoint presentation', 'application/vnd.openxmlformats-officedocument.presentationml.presentation', 'ppt/presentation.xml', 'pptx'],
    ['a PowerPoint slide show (ppsx), by its part folders as before', 'application/vnd.openxmlformats-officedocument.presentationml.slideshow', 'ppt/presentation.xml', 'pptx'],
    ['a Word template (dotx), by its part folders as before', 'application/vnd.openxmlformats-officedocument.wordprocessingml.template', 'word/document.xml', 'docx'],
  ])('recognises %s that declares its main part in [Content_Types].xml', async (_label, main, part, extension) => {
    expect((await sniffContentType(declaring(main, part)))?.extension).toBe(extension);
  });

  it.each([
    ['docm', 'application/vnd.ms-word.document.macroEnabled', 'word/document.xml'],
    ['xlsm', 'application/vnd.ms-excel.sheet.macroEnabled', 'xl/workbook.xml'],
    ['pptm', 'application/vnd.ms-powerpoint.presentation.macroEnabled', 'ppt/presentation.xml'],
  ])('refuses a package declared macro-enabled (%s), even without vbaProject.bin', async (_ext, main, part) => {
    expect(await sniffContentType(declaring(main, part))).toBeUndefined();
  });

  it('refuses a package declared a Word document that carries macros (vbaProject.bin)', async () => {
    expect(await sniffContentType(declaring('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'word/document.xml', 'word/vbaProject.bin'))).toBeUndefined();
  });

  it('takes a PNG or TIFF by its signature even where file-type cannot parse what follows (as before)', async () => {
    expect((await sniffContentType(Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(200, 1)])))?.extension).toBe('png');
    expect((await sniffContentType(Buffer.concat([TIFF_LE.subarray(0, 4), Buffer.alloc(200, 1)])))?.extension).toBe('tiff');
  });

  it('refuses a truncated OOXML file (central directory cut off)', async () => {
    expect(await sniffContentType(DOCX.subarray(0, DOCX.length - 30))).toBeUndefined();
  });

  it('never throws on corrupted zip and OLE2 files', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (const sample of [DOCX, XLSX, DOC, PPT]) {
      for (let round = 0; round < 300; round++) {
        const copy = Buffer.from(sample);
        for (let flips = 0; flips < 8; flips++) copy[8 + Math.floor(random() * (copy.length - 8))] = Math.floor(random() * 256);
        const cut = copy.subarray(0, 8 + Math.floor(random() * (copy.length - 8)));
        await expect(sniffContentType(copy)).resolves.toSatisfy((type) => type === undefined || ALLOWED_POE_TYPES.includes(type as never));
        await expect(sniffContentType(cut)).resolves.toSatisfy((type) => type === undefined || ALLOWED_POE_TYPES.includes(type as never));
      }
    }
  });

  it('lists zip entry names from the central directory', async () => {
    expect(zipEntryNames(DOCX)).toEqual(['[Content_Types].xml', '_rels/.rels', 'word/document.xml', 'word/styles.xml']);
  });

  it('returns only types listed in ALLOWED_POE_TYPES', async () => {
    for (const sample of [PDF, PNG, JPEG, TIFF_LE, DOCX, XLSX, PPTX, DOC, XLS, PPT]) {
      expect(ALLOWED_POE_TYPES).toContain(await sniffContentType(sample));
    }
    expect(ALLOWED_POE_TYPES.map((type) => type.extension)).toEqual([
      'pdf', 'png', 'jpg', 'tiff', 'docx', 'xlsx', 'pptx', 'doc', 'xls', 'ppt',
    ]);
    expect(POE_MAX_BYTES).toBe(10 * 1024 * 1024);
  });
});

describe('sniffing and naming an upload together', () => {
  it('names a PNG uploaded as "scan.pdf" scan.png', async () => {
    const type = await sniffContentType(PNG);
    expect(type?.contentType).toBe('image/png');
    expect(sanitizeFileName('scan.pdf', type?.extension)).toBe('scan.png');
  });

  it('refuses plain text uploaded as "sow.pdf"', async () => {
    expect(await sniffContentType(Buffer.from('This statement of work...'))).toBeUndefined();
  });
});

describe('sniffing a file on disk through a page cache', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cpor-sniff-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `content` to a file and sniffs it through a PagedFile; also answers the most bytes the cache held. */
  async function sniffOnDisk(content: Buffer, options: { pageBytes?: number; maxPages?: number } = {}) {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.bin`);
    writeFileSync(path, content);
    const fd = openSync(path, 'r');
    try {
      const paged = createPagedFile(fd, content.length, options);
      const names = content.length >= 4 && content.readUInt32LE(0) === 0x04034b50 ? zipEntryNames(paged) : undefined;
      return { type: await sniffContentType(paged), names, peakBytes: paged.peakBytes };
    } finally {
      closeSync(fd);
    }
  }

  it('answers what the in-memory sniffer answers for every sample, also with pages smaller than the records read', async () => {
    const samples = [PDF, PNG, JPEG, TIFF_LE, TIFF_BE, DOCX, XLSX, PPTX, DOC, XLS, PPT, compoundFile(['WordDocument'], 109 * 128 + 5),
      zip([CONTENT_TYPES, { name: 'word/document.xml' }], { comment: 'made by hand' }), ooxml('word/document.xml', 'word/vbaProject.bin'),
      DOCX.subarray(0, DOCX.length - 30), Buffer.alloc(0), Buffer.from('PK\x03\x04garbage-without-a-directory', 'latin1')];
    for (const sample of samples) {
      expect((await sniffOnDisk(sample, { pageBytes: 7, maxPages: 3 })).type).toBe(await sniffContentType(sample));
      expect((await sniffOnDisk(sample)).type).toBe(await sniffContentType(sample));
    }
    expect((await sniffOnDisk(DOCX, { pageBytes: 5, maxPages: 2 })).names).toEqual(zipEntryNames(DOCX));
  });

  it('never throws on corrupted zip and OLE2 files read from disk', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (const sample of [DOCX, DOC]) {
      for (let round = 0; round < 40; round++) {
        const copy = Buffer.from(sample);
        for (let flips = 0; flips < 8; flips++) copy[8 + Math.floor(random() * (copy.length - 8))] = Math.floor(random() * 256);
        expect((await sniffOnDisk(copy, { pageBytes: 64, maxPages: 2 })).type).toBe(await sniffContentType(copy));
      }
    }
  });

  it('recognises a TIFF whose first directory is at the end of a 10 MiB file, reading it through the page cache', async () => {
    // Many TIFF writers put the image data first and the directory last: file-type follows the offset.
    const size = POE_MAX_BYTES - 64;
    const tiff = Buffer.alloc(size);
    tiff.write('II*\0', 0, 'latin1');
    tiff.writeUInt32LE(size - 18, 4);
    tiff.writeUInt16LE(1, size - 18); // one entry: a DNG version tag, which file-type names
    tiff.writeUInt16LE(50_706, size - 16);
    const dng = await sniffOnDisk(tiff);
    expect(dng.type?.extension).toBe('tiff');
    expect(dng.peakBytes).toBeGreaterThan(DEFAULT_PAGE_BYTES); // the last page was read, not only the signature
    expect(dng.peakBytes).toBeLessThanOrEqual(3 * DEFAULT_PAGE_BYTES);
  });

  it('recognises a 10 MiB Word file while holding at most its page cache (256 pages of 4 KiB) in memory', async () => {
    const padded = zip([CONTENT_TYPES, { name: 'media/scan.bin', data: 'x'.repeat(POE_MAX_BYTES - 1024) }, { name: 'word/document.xml', data: '<x/>' }]);
    expect(padded.length).toBeGreaterThan(POE_MAX_BYTES - 1024);
    const docx = await sniffOnDisk(padded);
    expect(docx.type?.extension).toBe('docx');
    expect(docx.peakBytes).toBeLessThanOrEqual(DEFAULT_MAX_PAGES * DEFAULT_PAGE_BYTES);

    const ole = compoundFile(['WordDocument'], 109 * 128 + 5);
    const legacy = await sniffOnDisk(ole);
    expect(legacy.type?.extension).toBe('doc');
    expect(legacy.peakBytes).toBeLessThanOrEqual(DEFAULT_MAX_PAGES * DEFAULT_PAGE_BYTES);
    expect(legacy.peakBytes).toBeLessThan(ole.length / 4);
  });
});
