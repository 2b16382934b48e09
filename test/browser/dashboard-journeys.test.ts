/**
 * More of the dashboard in Debian's chromium against a real `cpor serve` on a SQLite file, on
 * claims seeded through the public API: My claims over more than one page and the server-side
 * search (GET /v1/claims?q=); a reviewer's rejection with its reason as the partner sees it, with
 * the days left to dispute; conflicting claims side by side for the reviewer. axe on every view.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, useDashboard } from '../support/browser';

const PARTNER_A = '4512345';
const PARTNER_B = '4599999';
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';

const dash = useDashboard();
const newPage = () => dash.newPage();


/** Development sign-in through the form. */
async function signIn(page: Page, role: string, id: { partnerId?: string }, name: string): Promise<void> {
  await page.goto(`${dash.url}/signin`);
  await page.getByLabel('Role').selectOption(role);
  if (id.partnerId) await page.getByLabel('Partner ID').fill(id.partnerId);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${name}`).waitFor();
}

// The public API, as another client would use it, to seed claims.
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

async function createClaim(token: string, partnerId: string, customer: { name: string; domain: string; tenantId?: string }): Promise<string> {
  const created = await call(token, 'POST', '/v1/claims', {
    partnerId,
    mpnId: partnerId,
    customer: { tenantId: TENANT, ...customer },
    activity: 'preSales',
    products: [{ line: 'microsoft365', workload: 'teams' }],
    customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
    partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
  });
  return created.id as string;
}

async function act(token: string, id: string, event: string, body: object = {}): Promise<void> {
  const current = await call(token, 'GET', `/v1/claims/${id}`);
  await call(token, 'POST', `/v1/claims/${id}/actions/${event}`, body, { 'If-Match': current.etag as string });
}

/** A claim with a signed PoE, submitted. */
async function submittedClaim(token: string, partnerId: string, customer: { name: string; domain: string }): Promise<string> {
  const id = await createClaim(token, partnerId, customer);
  const form = new FormData();
  for (const [key, value] of Object.entries({ customerSigned: 'true', signedOn: '2026-11-20', products: 'teams', describesWork: 'true' })) form.set(key, value);
  form.set('file', new Blob([pdf()], { type: 'application/pdf' }), 'sow.pdf');
  await call(token, 'POST', `/v1/claims/${id}/poe`, form);
  await act(token, id, 'submit', {});
  return id;
}

describe('the dashboard on seeded claims', { timeout: 120_000 }, () => {
  it('My claims pages through more than one page, and its search finds a claim on another page (on the server)', async () => {
    const token = await tokenFor('incentivesAdmin', PARTNER_A);
    // 26 claims: a page holds 25, so the last one created (Woodgrove) is on page 2.
    for (let i = 1; i <= 25; i++) await createClaim(token, PARTNER_A, { name: `Customer ${String(i).padStart(2, '0')}`, domain: `customer${i}.example` });
    await createClaim(token, PARTNER_A, { name: 'Woodgrove Bank', domain: 'woodgrove.example' });

    const page = await newPage();
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await page.waitForURL('**/claims');
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count()).toBe(25);
    expect(await page.getByRole('link', { name: 'Woodgrove Bank' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('link', { name: 'Woodgrove Bank' }).waitFor();
    await page.getByText('Page 2').first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Next page' }).count()).toBe(0);
    await expectAccessible(page, 'partner claims list, page 2');

    // Back on page 1, the search asks the server: Woodgrove is found though page 1 does not hold it.
    await page.getByRole('button', { name: 'First page' }).click();
    await expect.poll(() => rows.count()).toBe(25);
    await page.getByLabel(/^Search/).fill('WOODGROVE');
    await page.getByRole('link', { name: 'Woodgrove Bank' }).waitFor();
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel(/^Search/).fill('customer2');
    await expect.poll(() => rows.count()).toBe(7); // customer2.example, customer20..25.example
    await expectAccessible(page, 'partner claims list, searched');
  });

  it('reviewer rejects with a reason; the partner sees the reason and the days left to dispute', async () => {
    const partnerToken = await tokenFor('incentivesAdmin', PARTNER_A);
    const id = await submittedClaim(partnerToken, PARTNER_A, { name: 'Litware', domain: 'litware.example' });
    const reviewer = await newPage();
    await signIn(reviewer, 'reviewer', {}, 'Rita Reviewer');
    await reviewer.goto(`${dash.url}/claims/${id}`);
    const actions = reviewer.getByRole('region', { name: 'What you can do now' });
    await actions.getByRole('button', { name: 'Start review', exact: true }).click();
    await actions.locator('form').getByRole('button', { name: 'Start review', exact: true }).click();
    await reviewer.getByRole('heading', { name: 'Under review' }).waitFor();
    await actions.getByRole('button', { name: 'Reject', exact: true }).click();
    const form = actions.locator('form');
    await form.getByLabel('Reason').selectOption('missingProducts');
    await form.getByLabel('Comment').fill('The SOW names Exchange only.');
    await expectAccessible(reviewer, 'reject form');
    await form.getByRole('button', { name: 'Reject', exact: true }).click();
    await reviewer.getByRole('heading', { name: /Rejected/ }).waitFor();

    const partner = await newPage();
    await signIn(partner, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await partner.goto(`${dash.url}/claims/${id}`);
    await partner.getByRole('heading', { name: /Rejected/ }).waitFor();
    await partner.getByText('The PoE does not cover the claimed products or workloads.').waitFor();
    await partner.getByText('30 days left to dispute').waitFor();
    await partner.getByText('The SOW names Exchange only.').waitFor();
    await partner.getByRole('region', { name: 'What you can do now' }).getByRole('button', { name: 'Dispute', exact: true }).waitFor();
    await expectAccessible(partner, 'rejected claim for the partner');
  });

  it('shows the reviewer conflicting claims side by side with the settlement', async () => {
    const a = await submittedClaim(await tokenFor('incentivesAdmin', PARTNER_A), PARTNER_A, { name: 'Adatum', domain: 'adatum.example' });
    const b = await submittedClaim(await tokenFor('incentivesAdmin', PARTNER_B), PARTNER_B, { name: 'Adatum Corp', domain: 'adatum.example' });
    const reviewer = await newPage();
    await signIn(reviewer, 'reviewer', {}, 'Rita Reviewer');
    await reviewer.goto(`${dash.url}/claims/${a}`);
    const conflicts = reviewer.getByRole('region', { name: 'Conflicting claims' });
    await conflicts.waitFor();
    const sides = conflicts.locator('.conflict');
    await expect.poll(() => sides.count()).toBeGreaterThanOrEqual(2);
    await sides.filter({ hasText: a }).getByText(PARTNER_A).waitFor();
    await conflicts.getByRole('link', { name: b }).waitFor();
    await sides.filter({ hasText: b }).getByText(PARTNER_B).waitFor();
    await conflicts.getByText('Settlement:').waitFor();
    await expectAccessible(reviewer, 'conflicting claims');
  });
});

function pdf(): Buffer {
  return Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), Buffer.alloc(2048, 0x20)]);
}
