/**
 * A program manager's reports in the policy console, in Debian's chromium against a real `cpor
 * serve` whose policy folder holds the bundled policy and a candidate marked `shadow: true`:
 * claims moved through the API show shadow differences; the SLA report, the assessment report
 * and the decision log (an explanation opened, by keyboard) read them. axe on every view.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshot, startServe, type Served } from '../support/browser';
import { pdfBytes } from '../support/factories';
import { policyYaml } from '../support/policy-factory';

const PARTNER = '4512345';
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';

let served: Served;
let browser: Browser;
let policyDir: string;
beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), 'cpor-console-policies-'));
  writeFileSync(join(policyDir, 'cpor.yaml'), policyYaml());
  writeFileSync(
    join(policyDir, 'cpor-candidate.yaml'),
    policyYaml({ version: '2026.2-candidate', shadow: true, deadlines: { reviewStart: { businessDays: 3 } } }),
  );
  served = await startServe({ env: { CPOR_POLICY: policyDir } });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  rmSync(policyDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

async function tokenFor(role: string, partnerId?: string): Promise<string> {
  const res = await fetch(`${served.url}/v1/auth/dev-token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ role, ...(partnerId ? { partnerId } : {}) }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function call(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${served.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body instanceof FormData || body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return { ...json, etag: res.headers.get('etag') };
}

async function act(token: string, id: string, event: string, body: object = {}) {
  const current = await call(token, 'GET', `/v1/claims/${id}`);
  await call(token, 'POST', `/v1/claims/${id}/actions/${event}`, body, { 'If-Match': current.etag as string });
}

/** A claim created, documented and submitted by the partner; `approve`: then reviewed and approved. */
async function movedClaim(partner: string, reviewer: string, name: string, approve: boolean): Promise<string> {
  const created = await call(partner, 'POST', '/v1/claims', {
    partnerId: PARTNER,
    mpnId: PARTNER,
    customer: { tenantId: TENANT, name, domain: 'contoso.com' },
    activity: 'preSales',
    products: [{ line: 'microsoft365', workload: 'teams' }],
    customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
    partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
  });
  const id = created.id as string;
  const form = new FormData();
  for (const [key, value] of Object.entries({ customerSigned: 'true', signedOn: '2026-11-20', products: 'teams', describesWork: 'true' })) form.set(key, value);
  form.set('file', new Blob([new Uint8Array(pdfBytes())], { type: 'application/pdf' }), 'sow.pdf');
  await call(partner, 'POST', `/v1/claims/${id}/poe`, form);
  await act(partner, id, 'submit');
  if (approve) {
    await act(reviewer, id, 'startReview');
    await act(reviewer, id, 'approve');
  }
  return id;
}

async function signInAsProgramManager(page: Page): Promise<void> {
  await page.goto(`${served.url}/signin`);
  await page.getByLabel('Role').selectOption('programManager');
  await page.getByLabel('Your name').fill('Pat Manager');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as Pat Manager').waitFor();
}

describe('the policy console reports', () => {
  it('a program manager sees shadow differences, reads the SLA report, and opens the assessment report and the decision log', async () => {
    const partner = await tokenFor('incentivesAdmin', PARTNER);
    const reviewer = await tokenFor('reviewer');
    const approved = await movedClaim(partner, reviewer, 'Contoso', true);
    await movedClaim(partner, reviewer, 'Northwind', false);

    const page = await newPage();
    await signInAsProgramManager(page);

    // Shadow: the candidate's reviewStart (3 business days) differs on both submissions.
    await page.goto(`${served.url}/console/shadow`);
    await page.getByRole('heading', { name: 'Shadow version cpor 2026.2-candidate' }).waitFor();
    await expect.poll(() => page.getByText('2 transitions decided differently, on 2 claims.').count()).toBe(1);
    const counts = page.getByRole('table').first();
    expect(await counts.getByRole('columnheader').allInnerTexts()).toEqual(['Target state', 'Refusal', 'Deficiencies', 'Deadlines', 'Eligibility']);
    expect(await counts.getByRole('cell').allInnerTexts()).toEqual(['0', '0', '0', '2', '0']);
    await expectAccessible(page, 'shadow report');
    await screenshot(page, 'console-shadow');

    // SLA: reviewStart started twice, met once (the approved claim); the chart names it.
    await page.getByRole('link', { name: 'Policy console' }).click();
    await page.getByRole('link', { name: 'SLA report' }).click();
    const totals = page.getByRole('table', { name: 'All deadline runs' });
    const reviewStart = totals.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /review start/i }) });
    await expect.poll(() => reviewStart.getByRole('cell').allInnerTexts()).toEqual(['2', '1', '0', '0', '1', '100 %', '0', '0']);
    const chart = page.getByRole('img', { name: /met, .* fired, .* open/ });
    expect(await chart.getAttribute('aria-label')).toMatch(/Review start.*: 1 met, 0 fired, 1 open/i);
    await page.getByLabel('Break down').selectOption('week');
    await page.getByRole('table').nth(1).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV' }).click();
    expect((await download).suggestedFilename()).toBe('sla.csv');
    await expectAccessible(page, 'SLA report');
    await screenshot(page, 'console-sla');

    // Assessment: nothing sent for assessment yet (the consent window runs a week).
    await page.goto(`${served.url}/console/assessment`);
    await page.getByText('No claims were sent for assessment in this period.').waitFor();
    await page.getByLabel('From').fill('2026-11-01');
    await expectAccessible(page, 'assessment report');
    await screenshot(page, 'console-assessment');

    // Decision log: shadow records from the shadow page's link; an explanation opened by keyboard.
    await page.goto(`${served.url}/console/shadow`);
    await page.getByRole('link', { name: 'Shadow decisions in the log' }).click();
    await page.getByRole('heading', { name: 'Decision log' }).waitFor();
    expect(await page.getByLabel('Kind').inputValue()).toBe('shadow');
    const rows = page.getByRole('table').getByRole('row');
    await expect.poll(() => rows.count()).toBe(3);
    const summary = page.locator('summary').first();
    await summary.focus();
    await page.keyboard.press('Enter');
    await page.getByText('Rules that fired:').first().waitFor();
    expect(await page.locator('details[open] dl').first().innerText()).toMatch(/^Deadlines\n.*reviewStart (\S+) → .*reviewStart (?!\1)\S+$/);
    await expectAccessible(page, 'decision log (shadow, explanation open)');
    await screenshot(page, 'console-decisions');

    // One claim's transitions.
    await page.getByLabel('Kind').selectOption('transition');
    await page.getByLabel('Claim').fill(approved);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('heading', { name: `Decision log of claim ${approved}` }).waitFor();
    await expect.poll(() => rows.count()).toBe(6);
    await expectAccessible(page, 'decision log of a claim');
  }, 120_000);
});
