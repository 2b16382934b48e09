/**
 * What a PoE file really is, from its bytes: the client's Content-Type and file name are not trusted.
 *
 * `file-type` recognises the format, reading only what it needs through a tokenizer over the file.
 * Our own code on top of its answer does only what it cannot: it answers `cfb` for every OLE2
 * compound file, so the directory's stream names tell a legacy .doc from an .xls or a .ppt (or an
 * Outlook .msg, refused); for a zip-based answer the central directory's entry names refuse a
 * package that carries macros (vbaProject.bin) whatever type it declares, and name the document
 * when its [Content_Types].xml declares no main part; and a PNG or TIFF signature is enough, as it
 * always was here (see signatureOnly).
 */
import { fileTypeFromTokenizer } from 'file-type';
import { AbstractTokenizer, EndOfStreamError, type IReadChunkOptions } from 'strtok3';
import { poeTypeByExtension, type PoeType } from './allowed-poe-types';
import type { ByteSource } from './paged-file';

/**
 * `file-type`'s answers that are an allowed PoE type, by its extension: PNG includes animated PNG,
 * JPEG includes JPEG-LS, TIFF includes the camera formats built on TIFF (each starts with a JPEG,
 * PNG or TIFF signature, which is what this service accepted before it used `file-type`).
 */
const ALLOWED_BY_FILE_TYPE: Readonly<Record<string, string>> = {
  pdf: 'pdf',
  png: 'png',
  apng: 'png',
  jpg: 'jpg',
  jls: 'jpg',
  tif: 'tiff',
  arw: 'tiff',
  cr2: 'tiff',
  dng: 'tiff',
  nef: 'tiff',
};

/** `file-type`'s answers for a package whose [Content_Types].xml declares one of the Office documents accepted. */
const DECLARED_OFFICE_OPEN_XML = new Set(['docx', 'xlsx', 'pptx']);

/**
 * `file-type`'s answers for a zip that may still be an accepted document by its part folders: a plain
 * zip (its [Content_Types].xml declares no main part, or file-type could not read it), or a template or
 * slide show of Word, Excel or PowerPoint. Macro-enabled packages (docm, xlsm, pptm, …) are not here:
 * they are refused.
 */
const ZIP_BASED = new Set(['zip', 'dotx', 'xltx', 'potx', 'ppsx']);

/**
 * The allowed PoE type the content is, or undefined. `file-type` reads what it needs through a
 * tokenizer (the magic bytes, a TIFF's first directory, a zip's first local headers and
 * [Content_Types].xml); our code reads a zip's or an OLE2 file's directory records. Over a
 * PagedFile a staged upload is never read whole into memory.
 */
export async function sniffContentType(content: ByteSource): Promise<PoeType | undefined> {
  const found = await detect(content);
  if (found === undefined) return signatureOnly(content);
  const allowed = ALLOWED_BY_FILE_TYPE[found];
  if (allowed !== undefined) return poeTypeByExtension(allowed);
  if (DECLARED_OFFICE_OPEN_XML.has(found)) return sniffOfficeOpenXml(zipEntryNames(content), found);
  if (ZIP_BASED.has(found)) return sniffOfficeOpenXml(zipEntryNames(content));
  if (found === 'cfb') return sniffLegacyOffice(compoundFileNames(content));
  return undefined;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TIFF_SIGNATURES = [
  [0x49, 0x49, 0x2a, 0x00],
  [0x4d, 0x4d, 0x00, 0x2a],
];

/**
 * `file-type` answers nothing for a PNG whose first chunk is not a valid IHDR, or a TIFF whose first
 * directory it cannot read; this service has always taken a PNG or TIFF by its signature alone,
 * and keeps doing so (a viewer decides what the image shows, the reviewer what it proves).
 */
function signatureOnly(content: ByteSource): PoeType | undefined {
  const startsWith = (signature: number[]) =>
    content.length >= signature.length && signature.every((byte, i) => content.readUInt8(i) === byte);
  if (startsWith(PNG_SIGNATURE)) return poeTypeByExtension('png');
  if (TIFF_SIGNATURES.some(startsWith)) return poeTypeByExtension('tiff');
  return undefined;
}

/** `file-type`'s extension for these bytes; content it cannot parse is no known type. */
async function detect(content: ByteSource): Promise<string | undefined> {
  try {
    return (await fileTypeFromTokenizer(new ByteSourceTokenizer(content)))?.ext;
  } catch (error) {
    // A read of the staged file that fails (a system error) is not the upload's fault: it surfaces.
    if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') throw error;
    return undefined;
  }
}

/** A random-access strtok3 tokenizer (what `file-type` reads through) over a ByteSource. */
class ByteSourceTokenizer extends AbstractTokenizer {
  readonly fileInfo: { size: number };

  constructor(private readonly content: ByteSource) {
    super();
    this.fileInfo = { size: content.length };
  }

  supportsRandomAccess(): boolean {
    return true;
  }

  setPosition(position: number): void {
    this.position = position;
  }

  async peekBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const { length, position, mayBeLess } = this.normalizeOptions(target, options);
    const available = Math.max(0, Math.min(this.content.length - position, length));
    if (!mayBeLess && available < length) throw new EndOfStreamError();
    target.set(this.content.subarray(position, position + available));
    return available;
  }

  async readBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const { position } = this.normalizeOptions(target, options);
    const read = await this.peekBuffer(target, options);
    this.position = position + read;
    return read;
  }
}

/**
 * An OOXML package: the type its [Content_Types].xml declares (`declared`, as file-type read it),
 * else the one its part folders name. Never a package with macros: Office keeps them in vbaProject.bin.
 */
function sniffOfficeOpenXml(names: string[] | undefined, declared?: string): PoeType | undefined {
  if (!names?.includes('[Content_Types].xml')) return undefined;
  if (names.some((name) => name.toLowerCase().endsWith('vbaproject.bin'))) return undefined;
  if (declared !== undefined) return poeTypeByExtension(declared);
  if (names.some((name) => name.startsWith('word/'))) return poeTypeByExtension('docx');
  if (names.some((name) => name.startsWith('xl/'))) return poeTypeByExtension('xlsx');
  if (names.some((name) => name.startsWith('ppt/'))) return poeTypeByExtension('pptx');
  return undefined;
}

/** An OLE2 compound file: file-type answers `cfb` for all of them; the stream names tell the Office format. */
function sniffLegacyOffice(names: string[] | undefined): PoeType | undefined {
  if (!names) return undefined;
  if (names.includes('WordDocument')) return poeTypeByExtension('doc');
  if (names.includes('Workbook') || names.includes('Book')) return poeTypeByExtension('xls');
  if (names.includes('PowerPoint Document')) return poeTypeByExtension('ppt');
  return undefined;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const MAX_ZIP_ENTRIES = 100_000;

/** Entry names from a zip's central directory, or undefined when it has none that can be read. */
export function zipEntryNames(zip: ByteSource): string[] | undefined {
  const eocd = findEndOfCentralDirectory(zip);
  if (eocd === undefined) return undefined;
  let count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    const zip64 = readZip64Directory(zip, eocd);
    if (!zip64) return undefined;
    ({ count, offset } = zip64);
  }
  const names: string[] = [];
  for (let i = 0; i < Math.min(count, MAX_ZIP_ENTRIES); i++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== CENTRAL_SIGNATURE) return undefined;
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const nameEnd = offset + 46 + nameLength;
    if (nameEnd > zip.length) return undefined;
    // Bit 11 marks UTF-8 names; the names that matter here are ASCII either way.
    const utf8 = (zip.readUInt16LE(offset + 8) & 0x0800) !== 0;
    names.push(zip.toString(utf8 ? 'utf8' : 'latin1', offset + 46, nameEnd));
    offset = nameEnd + extraLength + commentLength;
  }
  return names;
}

function findEndOfCentralDirectory(zip: ByteSource): number | undefined {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  const lowest = Math.max(0, zip.length - 22 - 0xffff);
  for (let at = zip.length - 22; at >= lowest; at--) {
    if (zip.readUInt32LE(at) === EOCD_SIGNATURE && at + 22 + zip.readUInt16LE(at + 20) <= zip.length) return at;
  }
  return undefined;
}

function readZip64Directory(zip: ByteSource, eocd: number): { count: number; offset: number } | undefined {
  const locator = eocd - 20;
  if (locator < 0 || zip.readUInt32LE(locator) !== ZIP64_LOCATOR_SIGNATURE) return undefined;
  const record = Number(zip.readBigUInt64LE(locator + 8));
  if (!Number.isSafeInteger(record) || record + 56 > zip.length || zip.readUInt32LE(record) !== ZIP64_EOCD_SIGNATURE) {
    return undefined;
  }
  const count = Number(zip.readBigUInt64LE(record + 32));
  const offset = Number(zip.readBigUInt64LE(record + 48));
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(offset)) return undefined;
  return { count, offset };
}

const END_OF_CHAIN = 0xfffffffe;
const MAX_SECTOR = 0xfffffffa;

/** Names of the storages and streams in an OLE2 compound file (MS-CFB), or undefined when it cannot be read. */
export function compoundFileNames(file: ByteSource): string[] | undefined {
  if (file.length < 512 || file.readUInt16LE(0x1c) !== 0xfffe) return undefined;
  const shift = file.readUInt16LE(0x1e);
  if (shift !== 9 && shift !== 12) return undefined;
  const sectorSize = 1 << shift;
  const perSector = sectorSize / 4;
  const sectorCount = Math.ceil((file.length - sectorSize) / sectorSize);
  const sectorOffset = (sector: number) => (sector + 1) * sectorSize;
  const validSector = (sector: number) => sector <= MAX_SECTOR && sectorOffset(sector) + sectorSize <= file.length;

  // The FAT's own sectors: 109 listed in the header, the rest in the DIFAT chain.
  const fatSectors: number[] = [];
  for (let i = 0; i < 109; i++) {
    const sector = file.readUInt32LE(0x4c + i * 4);
    if (sector <= MAX_SECTOR) fatSectors.push(sector);
  }
  let difat = file.readUInt32LE(0x44);
  for (let hops = 0; difat !== END_OF_CHAIN && difat <= MAX_SECTOR; hops++) {
    if (!validSector(difat) || hops > sectorCount) return undefined;
    const base = sectorOffset(difat);
    for (let i = 0; i < perSector - 1; i++) {
      const sector = file.readUInt32LE(base + i * 4);
      if (sector <= MAX_SECTOR) fatSectors.push(sector);
    }
    difat = file.readUInt32LE(base + sectorSize - 4);
  }
  const next = (sector: number): number | undefined => {
    const fatSector = fatSectors[Math.floor(sector / perSector)];
    if (fatSector === undefined || !validSector(fatSector)) return undefined;
    return file.readUInt32LE(sectorOffset(fatSector) + (sector % perSector) * 4);
  };

  const names: string[] = [];
  let sector: number | undefined = file.readUInt32LE(0x30);
  for (let hops = 0; sector !== END_OF_CHAIN; hops++) {
    if (sector === undefined || !validSector(sector) || hops > sectorCount) return undefined;
    const base = sectorOffset(sector);
    for (let entry = base; entry < base + sectorSize; entry += 128) {
      const nameBytes = file.readUInt16LE(entry + 0x40);
      const type = file.readUInt8(entry + 0x42);
      if (type === 0 || nameBytes < 2 || nameBytes > 64) continue;
      names.push(file.toString('utf16le', entry, entry + nameBytes - 2));
    }
    sector = next(sector);
  }
  return names;
}
