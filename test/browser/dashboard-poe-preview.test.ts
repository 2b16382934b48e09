/**
 * The reviewer's inline PoE preview in Debian's chromium against a real `cpor serve`: a real
 * two-page PDF drawn by pdf.js on a canvas (its code and worker fetched from this origin only
 * when the preview opens, nothing refused by the page's CSP), paged and closed from the keyboard;
 * a PNG shown as an image. axe on the open preview; a screenshot of it.
 */
import { deflateSync, crc32 } from 'node:zlib';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, screenshot, useDashboard } from '../support/browser';

const PARTNER = '4512345';
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';

const consoleErrors: string[] = [];
const dash = useDashboard((page) =>
  page.on('console', (message) => {
    // Every error counts, Chromium's own /favicon.ico request included (the app answers it).
    if (message.type() === 'error') consoleErrors.push(`${message.text()} ${message.location().url}`);
  }),
);

async function call(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${dash.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body instanceof FormData || body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return { ...json, etag: res.headers.get('etag') };
}

async function tokenFor(role: string, partnerId?: string): Promise<string> {
  const res = await fetch(`${dash.url}/v1/auth/dev-token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ role, ...(partnerId ? { partnerId } : {}) }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function upload(token: string, id: string, fileName: string, type: string, bytes: Buffer): Promise<void> {
  const form = new FormData();
  for (const [key, value] of Object.entries({ customerSigned: 'true', signedOn: '2026-11-20', products: 'teams', describesWork: 'true' })) form.set(key, value);
  form.set('file', new Blob([bytes], { type }), fileName);
  await call(token, 'POST', `/v1/claims/${id}/poe`, form);
}

/** A claim with a real PDF and a PNG as its PoE, submitted by the partner. */
async function claimWithDocuments(): Promise<string> {
  const token = await tokenFor('incentivesAdmin', PARTNER);
  const created = await call(token, 'POST', '/v1/claims', {
    partnerId: PARTNER,
    mpnId: PARTNER,
    customer: { tenantId: TENANT, name: 'Contoso', domain: 'contoso.com' },
    activity: 'preSales',
    products: [{ line: 'microsoft365', workload: 'teams' }],
    customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
    partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
  });
  const id = created.id as string;
  await upload(token, id, 'sow.pdf', 'application/pdf', textPdf(['Statement of work: Contoso', 'Teams deployment, 1,200 seats'], ['Signed for Contoso: Ana Ruiz']));
  await upload(token, id, 'signature.png', 'image/png', png(120, 60));
  const current = await call(token, 'GET', `/v1/claims/${id}`);
  await call(token, 'POST', `/v1/claims/${id}/actions/submit`, {}, { 'If-Match': current.etag as string });
  return id;
}

async function signIn(page: Page, role: string, name: string): Promise<void> {
  await page.goto(`${dash.url}/signin`);
  await page.getByLabel('Role').selectOption(role);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${name}`).waitFor();
}

/**
 * Pixels of the preview's canvas that are not (near) white: drawn text. (A string script, run in
 * the page: this Node-typed file has no DOM types.)
 */
const inkedPixels = async (page: Page): Promise<number> =>
  Number(
    await page.evaluate(`(() => {
      const canvas = document.querySelector('canvas.poe-page');
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] < 160 && data[i + 1] < 160 && data[i + 2] < 160) inked++;
      return inked;
    })()`),
  );

describe('the PoE preview for reviewers', { timeout: 120_000 }, () => {
  it('draws a PDF on a canvas (pdf.js fetched from this origin only when it opens), pages it and closes from the keyboard; shows an image', async () => {
    const id = await claimWithDocuments();
    const page = await dash.newPage();
    const requests: string[] = [];
    const failed: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('response', (response) => response.status() >= 400 && failed.push(`${response.status()} ${response.url()}`));
    await signIn(page, 'reviewer', 'Rita Reviewer');
    await page.goto(`${dash.url}/claims/${id}`);
    const poe = page.getByRole('region', { name: 'Proof of execution' });
    const open = poe.getByRole('button', { name: 'Preview sow.pdf' });
    await open.waitFor();
    expect(requests.filter((url) => /pdf-(pages|worker)/.test(url))).toEqual([]);

    await open.click();
    const viewer = page.getByRole('region', { name: 'Preview: sow.pdf' });
    await viewer.getByText('Page 1 of 2').waitFor();
    await expect.poll(() => inkedPixels(page), { timeout: 15_000 }).toBeGreaterThan(200);
    const firstPage = await inkedPixels(page);
    // Only now, and only from this origin: the renderer, its worker, the document.
    expect(requests.filter((url) => /pdf-pages-.+\.js$/.test(url))).toHaveLength(1);
    expect(requests.filter((url) => /pdf-worker-.+\.mjs$/.test(url))).toHaveLength(1);
    expect(requests.filter((url) => !url.startsWith(dash.url))).toEqual([]);
    await expectAccessible(page, 'PoE preview of a PDF');
    await screenshot(page, 'reviewer-poe-preview');

    await viewer.getByRole('button', { name: 'Next page' }).click();
    await viewer.getByText('Page 2 of 2').waitFor();
    await expect.poll(() => inkedPixels(page)).not.toBe(firstPage);
    expect(await inkedPixels(page)).toBeGreaterThan(100);
    expect(await viewer.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    // The keyboard: PageUp steps back, Escape closes and gives the focus back to the button.
    await viewer.focus();
    await page.keyboard.press('PageUp');
    await viewer.getByText('Page 1 of 2').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => viewer.count()).toBe(0);
    expect(await page.evaluate("document.activeElement.getAttribute('aria-controls')")).toBe(await open.getAttribute('aria-controls'));
    expect(await open.getAttribute('aria-expanded')).toBe('false');

    await poe.getByRole('button', { name: 'Preview signature.png' }).click();
    const image = page.getByRole('img', { name: 'Preview: signature.png' });
    await image.waitFor();
    await expect.poll(() => page.evaluate("document.querySelector('img.poe-preview').naturalWidth")).toBe(120);
    expect(failed).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

/** A PDF with one page per entry of `pages`, each line of text set in Helvetica (xref offsets computed). */
function textPdf(...pages: string[][]): Buffer {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((n) => `${n} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  pages.forEach((lines, i) => {
    const content = `BT /F1 28 Tf 72 700 Td ${lines.map((line, j) => `${j ? '0 -40 Td ' : ''}(${line}) Tj`).join(' ')} ET`;
    objects[pageIds[i]!] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i]! + 1} 0 R >>`;
    objects[pageIds[i]! + 1] = `<< /Length ${content.length} >>\nstream\n${content}\nendstream`;
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let n = 1; n < objects.length; n++) {
    offsets[n] = out.length;
    out += `${n} 0 obj\n${objects[n]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let n = 1; n < objects.length; n++) out += `${String(offsets[n]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A `width`×`height` PNG: a blue band over white. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height, 0xff);
  for (let y = 0; y < height; y++) {
    rows[y * (width * 3 + 1)] = 0; // filter: none
    if (y > height / 3 && y < (2 * height) / 3) for (let x = 0; x < width; x++) rows.set([11, 92, 173], y * (width * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
