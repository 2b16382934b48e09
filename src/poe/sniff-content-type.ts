/** What a PoE file really is, from its bytes: the client's Content-Type and file name are not trusted. */
import { poeTypeByExtension, type PoeType } from './allowed-poe-types';
import type { ByteSource } from './paged-file';

const PDF = Buffer.from('%PDF-', 'latin1');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff]);
const TIFF_LE = Buffer.from([0x49, 0x49, 0x2a, 0x00]);
const TIFF_BE = Buffer.from([0x4d, 0x4d, 0x00, 0x2a]);
const ZIP_LOCAL = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

/**
 * The allowed PoE type the content is, by magic bytes (and zip / OLE2 directory names), or undefined.
 * It reads the first 8 bytes, and for a zip or an OLE2 file only the records that name its entries:
 * over a PagedFile a staged upload is never read whole.
 */
export function sniffContentType(content: ByteSource): PoeType | undefined {
  const starts = (magic: Buffer) => content.length >= magic.length && magic.every((byte, i) => content.readUInt8(i) === byte);
  if (starts(PDF)) return poeTypeByExtension('pdf');
  if (starts(PNG)) return poeTypeByExtension('png');
  if (starts(JPEG)) return poeTypeByExtension('jpg');
  if (starts(TIFF_LE) || starts(TIFF_BE)) return poeTypeByExtension('tiff');
  if (starts(ZIP_LOCAL)) return sniffOfficeOpenXml(zipEntryNames(content));
  if (starts(OLE2)) return sniffLegacyOffice(compoundFileNames(content));
  return undefined;
}

function sniffOfficeOpenXml(names: string[] | undefined): PoeType | undefined {
  if (!names?.includes('[Content_Types].xml')) return undefined;
  // Macro-enabled documents (docm, xlsm, pptm) carry vbaProject.bin; they are not the types we accept.
  if (names.some((name) => name.toLowerCase().endsWith('vbaproject.bin'))) return undefined;
  if (names.some((name) => name.startsWith('word/'))) return poeTypeByExtension('docx');
  if (names.some((name) => name.startsWith('xl/'))) return poeTypeByExtension('xlsx');
  if (names.some((name) => name.startsWith('ppt/'))) return poeTypeByExtension('pptx');
  return undefined;
}

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
