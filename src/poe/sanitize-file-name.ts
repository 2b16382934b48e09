/** A PoE file name that is safe to store, show and offer as a download on any operating system. */
import { poeTypeForExtension } from './allowed-poe-types';

const MAX_NAME_BYTES = 120;
const FALLBACK_STEM = 'document';
const RESERVED_CHARACTERS = /[<>:"/\\|?*]/g;
const CONTROL_CHARACTERS = /\p{Cc}/gu;
// Format characters (bidi overrides, zero-width joiners) can disguise an extension: "invoice\u202Efdp.exe".
const FORMAT_CHARACTERS = /\p{Cf}/gu;
const EXTENSION = /^[\p{L}\p{N}]{1,10}$/u;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])$/i; // ¹²³ written as escapes: the build stays ASCII
/** Made on first use: ICU's grapheme data loads then, not while the service starts. */
let segmenter: Intl.Segmenter | undefined;

/**
 * The base name of `name`, cleaned (no directories, control, format or reserved characters, leading
 * dots or Windows device names; NFC; single spaces; at most 120 UTF-8 bytes), ending in `extension`
 * (the sniffed type's) when one is given.
 */
export function sanitizeFileName(name: string, extension?: string): string {
  const baseName =
    name
      .normalize('NFC')
      .split(/[/\\]/)
      .filter((segment) => segment.trim() !== '')
      .at(-1) ?? '';
  const cleaned = baseName
    .replace(CONTROL_CHARACTERS, ' ')
    .replace(FORMAT_CHARACTERS, '')
    .replace(RESERVED_CHARACTERS, '')
    .replace(/\s+/gu, ' ')
    .replace(/[.\s]+$/u, '');
  const hidden = /^[.\s]/u.test(cleaned);
  const visible = cleaned.replace(/^[.\s]+/u, '');

  let stem = visible;
  let nameExtension: string | undefined;
  const dot = visible.lastIndexOf('.');
  if (dot > 0 && EXTENSION.test(visible.slice(dot + 1))) {
    stem = visible.slice(0, dot).replace(/[.\s]+$/u, '');
    nameExtension = visible.slice(dot + 1);
  } else if (hidden && dot === -1 && poeTypeForExtension(visible)) {
    // ".pdf": a bare extension, not a name.
    stem = '';
    nameExtension = visible;
  }

  const sniffed = extension?.replace(/^\./, '').toLowerCase() || undefined;
  let finalExtension = nameExtension;
  if (sniffed && !sameExtension(nameExtension, sniffed)) {
    // A known extension that lies about the content is replaced; anything else stays part of the name.
    if (nameExtension && !poeTypeForExtension(nameExtension)) stem = stem ? `${stem}.${nameExtension}` : nameExtension;
    finalExtension = sniffed;
  }

  if (WINDOWS_RESERVED.test(stem.split('.')[0]!.trim())) stem = `_${stem}`;
  const suffix = finalExtension ? `.${finalExtension}` : '';
  stem = truncateToBytes(stem, MAX_NAME_BYTES - Buffer.byteLength(suffix)).replace(/[.\s]+$/u, '');
  return `${stem || FALLBACK_STEM}${suffix}`;
}

function sameExtension(nameExtension: string | undefined, sniffed: string): boolean {
  if (!nameExtension) return false;
  const lower = nameExtension.toLowerCase();
  if (lower === sniffed) return true;
  const type = poeTypeForExtension(sniffed);
  return type !== undefined && poeTypeForExtension(lower) === type;
}

/** The longest prefix of whole grapheme clusters that fits in `maxBytes` of UTF-8. */
function truncateToBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let result = '';
  let bytes = 0;
  for (const { segment } of (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(text)) {
    const size = Buffer.byteLength(segment);
    if (bytes + size > maxBytes) break;
    result += segment;
    bytes += size;
  }
  return result;
}
