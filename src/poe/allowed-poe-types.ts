/** Which files are accepted as proof of execution, and how large they may be. */

/** A PoE file type: its MIME type, the extension its files get, and the other extensions that mean the same. */
export interface PoeType {
  readonly contentType: string;
  readonly extension: string;
  readonly aliases: readonly string[];
  readonly description: string;
}

/** The largest PoE file accepted (10 MiB); the HTTP layer enforces it while streaming the upload. */
export const POE_MAX_BYTES = 10 * 1024 * 1024;

/** Every type sniffContentType recognises; anything else (plain text, HTML, archives, executables) is refused. */
export const ALLOWED_POE_TYPES: readonly PoeType[] = Object.freeze(
  [
    { contentType: 'application/pdf', extension: 'pdf', aliases: [], description: 'PDF document' },
    { contentType: 'image/png', extension: 'png', aliases: [], description: 'PNG image' },
    { contentType: 'image/jpeg', extension: 'jpg', aliases: ['jpeg', 'jpe'], description: 'JPEG image' },
    { contentType: 'image/tiff', extension: 'tiff', aliases: ['tif'], description: 'TIFF image' },
    {
      contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      extension: 'docx',
      aliases: [],
      description: 'Word document',
    },
    {
      contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      extension: 'xlsx',
      aliases: [],
      description: 'Excel workbook',
    },
    {
      contentType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
      extension: 'pptx',
      aliases: [],
      description: 'PowerPoint presentation',
    },
    { contentType: 'application/msword', extension: 'doc', aliases: [], description: 'Word 97-2003 document' },
    { contentType: 'application/vnd.ms-excel', extension: 'xls', aliases: [], description: 'Excel 97-2003 workbook' },
    {
      contentType: 'application/vnd.ms-powerpoint',
      extension: 'ppt',
      aliases: [],
      description: 'PowerPoint 97-2003 presentation',
    },
  ].map((type) => Object.freeze({ ...type, aliases: Object.freeze(type.aliases) })),
);

/** The allowed type with this extension (or alias), case-insensitive. */
export function poeTypeForExtension(extension: string): PoeType | undefined {
  const wanted = extension.toLowerCase();
  return ALLOWED_POE_TYPES.find((type) => type.extension === wanted || type.aliases.includes(wanted));
}

export function poeTypeByExtension(extension: string): PoeType {
  const type = poeTypeForExtension(extension);
  if (!type) throw new Error(`No PoE type has the extension ${extension}.`);
  return type;
}
