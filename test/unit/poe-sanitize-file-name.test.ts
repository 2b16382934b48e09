import { describe, expect, it } from 'vitest';
import { sanitizeFileName } from '../../src/poe/sanitize-file-name';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('sanitizeFileName', () => {
  it.each([
    ['../../etc/passwd', undefined, 'passwd'],
    ['../../etc/passwd', 'pdf', 'passwd.pdf'],
    ['..\\..\\Windows\\System32\\sow.pdf', 'pdf', 'sow.pdf'],
    ['/var/data/claims/sow.pdf', 'pdf', 'sow.pdf'],
    ['C:\\Users\\li\\Desktop\\Signed SOW.docx', 'docx', 'Signed SOW.docx'],
    ['reports/2026/', 'pdf', '2026.pdf'],
    ['../', 'pdf', 'document.pdf'],
    ['..', undefined, 'document'],
  ])('strips directories: %j → %j', (name, extension, expected) => {
    expect(sanitizeFileName(name, extension)).toBe(expected);
  });

  it.each([
    ['in\u0000voice\n2026.pdf', 'in voice 2026.pdf'],
    ['bell\u0007\u001b[31m.pdf', 'bell [31m.pdf'],
    ['a<b>c:d"e|f?g*h.pdf', 'abcdefgh.pdf'],
    ['Report: Q1 2026.pdf', 'Report Q1 2026.pdf'],
    ['  Statement   of\tWork .pdf ', 'Statement of Work.pdf'],
    ['zero\u200Bwidth.pdf', 'zerowidth.pdf'],
  ])('strips control, format and reserved characters and collapses whitespace: %j → %j', (name, expected) => {
    expect(sanitizeFileName(name, 'pdf')).toBe(expected);
  });

  it('removes a bidi override that disguises an extension, and ends in the sniffed one', () => {
    expect(sanitizeFileName('invoice\u202Efdp.exe', 'pdf')).toBe('invoicefdp.exe.pdf');
  });

  it.each([
    ['...hidden.pdf', 'hidden.pdf'],
    ['.pdf', 'document.pdf'],
    ['. . .pdf', 'document.pdf'],
    ['report.pdf.', 'report.pdf'],
    ['report.pdf . .', 'report.pdf'],
  ])('strips leading and trailing dots: %j → %j', (name, expected) => {
    expect(sanitizeFileName(name, 'pdf')).toBe(expected);
  });

  it.each([
    ['CON.pdf', '_CON.pdf'],
    ['nul', '_nul.pdf'],
    ['com1.txt.pdf', '_com1.txt.pdf'],
    ['Lpt9 .pdf', '_Lpt9.pdf'],
    ['CONTRACT.pdf', 'CONTRACT.pdf'],
    ['console.pdf', 'console.pdf'],
  ])('defuses Windows device names: %j → %j', (name, expected) => {
    expect(sanitizeFileName(name, 'pdf')).toBe(expected);
  });

  it('normalises to NFC', () => {
    const decomposed = 'Cafe\u0301 Contoso.pdf';
    const result = sanitizeFileName(decomposed, 'pdf');
    expect(result).toBe('Caf\u00e9 Contoso.pdf');
    expect(result.normalize('NFC')).toBe(result);
  });

  it.each([
    ['Контракт Contoso.pdf', 'Контракт Contoso.pdf'],
    ['契約書（署名済み）.pdf', '契約書（署名済み）.pdf'],
    ['✅ signed 👍🏽.pdf', '✅ signed 👍🏽.pdf'],
  ])('keeps Unicode names: %j', (name, expected) => {
    expect(sanitizeFileName(name, 'pdf')).toBe(expected);
  });

  it('limits an ASCII name to 120 bytes, keeping the extension', () => {
    const result = sanitizeFileName(`${'a'.repeat(300)}.pdf`, 'pdf');
    expect(bytes(result)).toBe(120);
    expect(result).toBe(`${'a'.repeat(116)}.pdf`);
  });

  it('limits a multi-byte name to 120 bytes without splitting a character', () => {
    const result = sanitizeFileName(`${'日本語'.repeat(100)}.docx`, 'docx');
    expect(bytes(result)).toBeLessThanOrEqual(120);
    expect(result.endsWith('.docx')).toBe(true);
    expect(result).not.toContain('\uFFFD');
    expect(Buffer.from(result, 'utf8').toString('utf8')).toBe(result);
    expect(result).toBe(`${'日本語'.repeat(12)}日本.docx`);
  });

  it('does not split an emoji with a skin-tone modifier at the limit', () => {
    const result = sanitizeFileName(`${'a'.repeat(113)}👍🏽👍🏽.pdf`, 'pdf');
    expect(result).toBe(`${'a'.repeat(113)}.pdf`);
  });

  it('keeps the limit when the sniffed extension is appended', () => {
    const result = sanitizeFileName(`${'b'.repeat(200)}.v2`, 'pdf');
    expect(bytes(result)).toBeLessThanOrEqual(120);
    expect(result.endsWith('.pdf')).toBe(true);
  });

  it.each([
    ['', undefined, 'document'],
    ['', 'pdf', 'document.pdf'],
    ['???', 'png', 'document.png'],
    ['\u0000\u0001', 'pdf', 'document.pdf'],
    ['   ', 'docx', 'document.docx'],
    ['<>:"|?*', undefined, 'document'],
  ])('falls back to document: %j → %j', (name, extension, expected) => {
    expect(sanitizeFileName(name, extension)).toBe(expected);
  });

  it.each([
    ['scan.pdf', 'png', 'scan.png'],
    ['scan.PDF', 'pdf', 'scan.PDF'],
    ['photo.jpeg', 'jpg', 'photo.jpeg'],
    ['photo.JPG', 'jpg', 'photo.JPG'],
    ['page.tif', 'tiff', 'page.tif'],
    ['sow.doc', 'docx', 'sow.docx'],
    ['contract', 'pdf', 'contract.pdf'],
    ['contract.v2', 'pdf', 'contract.v2.pdf'],
    ['malware.exe', 'pdf', 'malware.exe.pdf'],
    ['notes.txt', 'pdf', 'notes.txt.pdf'],
    ['scan.pdf', '.PNG', 'scan.png'],
  ])('uses the sniffed extension: %j as %s → %j', (name, extension, expected) => {
    expect(sanitizeFileName(name, extension)).toBe(expected);
  });

  it('keeps the name\'s own extension when none is sniffed', () => {
    expect(sanitizeFileName('../minutes.docx')).toBe('minutes.docx');
  });

  it('is idempotent', () => {
    const names = ['../../etc/passwd', 'CON.pdf', `${'日本語'.repeat(100)}.docx`, 'scan.pdf', '.pdf', 'a<b>.pdf', '  x  '];
    for (const name of names) {
      for (const extension of [undefined, 'pdf', 'png']) {
        const once = sanitizeFileName(name, extension);
        expect(sanitizeFileName(once, extension)).toBe(once);
      }
    }
  });

  it('never returns a path, a reserved character, a control character or a leading dot', () => {
    const nasty = ['../a', 'a/../../b', '\\\\server\\share\\x.pdf', '.\u0000.', 'a\u202Eb', '/', '\\', '.', ' .htaccess', '…'];
    for (const name of nasty) {
      const result = sanitizeFileName(name, 'pdf');
      expect(result).not.toMatch(/[<>:"/\\|?*\p{Cc}\p{Cf}]/u);
      expect(result.startsWith('.')).toBe(false);
      expect(result.length).toBeGreaterThan(0);
    }
  });
});
