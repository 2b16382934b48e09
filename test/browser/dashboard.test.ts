/**
 * The dashboard in Debian's chromium against a real `cpor serve` on a SQLite file: each role's
 * journey through the UI (development sign-in), axe-core on every view (no serious or critical
 * violation), the main journey's sign-in and actions from the keyboard, screenshots of every
 * main view into docs/screenshots/.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, screenshot, useDashboard } from '../support/browser';

const PARTNER_A = '4512345';
const PARTNER_B = '4599999';
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';

const cspErrors: string[] = [];
const dash = useDashboard((page) =>
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
  }),
);
const newPage = () => dash.newPage();


/** Development sign-in with the keyboard: the role list, Tab to the next field, Enter submits. */
async function signIn(page: Page, role: string, id: { partnerId?: string; tenantId?: string }, name: string): Promise<void> {
  await page.goto(`${dash.url}/`);
  await page.waitForURL('**/signin');
  await page.getByLabel('Role').focus();
  await page.getByLabel('Role').selectOption(role);
  if (id.partnerId) {
    await page.keyboard.press('Tab');
    await page.keyboard.type(id.partnerId);
  }
  if (id.tenantId) {
    await page.keyboard.press('Tab');
    await page.keyboard.type(id.tenantId);
  }
  await page.keyboard.press('Tab');
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.getByText(`Signed in as ${name}`).waitFor();
}

async function act(page: Page, action: string, fill?: (page: Page) => Promise<void>): Promise<void> {
  const actions = page.getByRole('region', { name: 'What you can do now' });
  await actions.getByRole('button', { name: action, exact: true }).click();
  await fill?.(page);
  await actions.locator('form').getByRole('button', { name: action, exact: true }).click();
}

describe('the dashboard in a real browser', { timeout: 120_000 }, () => {
  let claimUrl = '';

  it('partner: signs in from the keyboard, creates a claim (errors at their fields), uploads, sees deficiencies, submits', async () => {
    const page = await newPage();
    await page.goto(`${dash.url}/claims`);
    await page.waitForURL('**/signin');
    await page.getByRole('note').filter({ hasText: 'Development sign-in' }).waitFor();
    await page.getByLabel('Role').selectOption('incentivesAdmin');
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await page.waitForURL('**/claims');
    await page.getByText('No claims here.').waitFor();

    await page.getByRole('link', { name: 'New claim' }).first().click();
    await page.getByRole('heading', { name: 'New claim' }).waitFor();
    await page.getByLabel('Tenant ID').fill('not-a-tenant');
    await page.getByLabel('Domain').fill('contoso.com');
    await page.getByLabel('Customer name').fill('Contoso');
    await page.getByRole('group', { name: 'Customer contact' }).getByLabel('Name').fill('Ana Ruiz');
    await page.getByRole('group', { name: 'Customer contact' }).getByLabel('Email').fill('ana@contoso.com');
    await page.getByRole('group', { name: 'Partner contact' }).getByLabel('Email').fill('li@fabrikam.com');
    await page.getByLabel('teams').check();
    await page.getByRole('button', { name: 'Create claim' }).click();
    // The API's error is shown at the field its JSONPath names.
    const tenant = page.getByLabel('Tenant ID');
    await expect.poll(() => tenant.getAttribute('aria-invalid')).toBe('true');
    const described = await tenant.getAttribute('aria-describedby');
    expect(await page.locator(`#${described}`).textContent()).toMatch(/uuid/i);
    await expectAccessible(page, 'new claim with errors');
    await screenshot(page, 'partner-new-claim');
    await tenant.fill(TENANT);
    await page.getByRole('button', { name: 'Create claim' }).click();
    await page.waitForURL(/\/claims\/(?!new$)[^/]+$/);
    claimUrl = page.url();

    const checklist = page.getByRole('region', { name: 'PoE checklist' });
    await checklist.getByText('missingAllPoe').waitFor();
    // An upload the customer did not sign: the checklist follows the documents, live.
    await page.getByRole('checkbox', { name: 'Signed by the customer' }).uncheck();
    await page.locator('input[type=file]').setInputFiles({ name: 'sow.pdf', mimeType: 'application/pdf', buffer: pdf() });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.getByText('sow.pdf').first().waitFor();
    await checklist.getByText('missingCustomerAcknowledgment').waitFor();
    expect(await checklist.getByText('missingAllPoe').count()).toBe(0);
    await expectAccessible(page, 'partner claim page');

    // Submit from the keyboard: focus the action, Enter opens its form, Enter sends it.
    const actions = page.getByRole('region', { name: 'What you can do now' });
    await actions.getByRole('button', { name: 'Submit', exact: true }).focus();
    await page.keyboard.press('Enter');
    await actions.locator('form').getByLabel('Comment').focus();
    await page.keyboard.type('Signed copy follows.');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Submitted' }).waitFor();
    // Deadlines by their names for people; a due instant at the policy zone's midnight ends the day
    // before there ("by end of Mon, Dec 7"), and is shown as date and time in the user's zone (Berlin).
    const deadlines = page.getByRole('region', { name: 'Deadlines' });
    await deadlines.getByText('Review start', { exact: true }).waitFor();
    expect(await deadlines.getByText('reviewStart').count()).toBe(0);
    expect(await deadlines.locator('li', { hasText: 'Review start' }).locator('.small').textContent()).toMatch(
      /^Due by end of (Mon|Tue|Wed|Thu|Fri), [A-Z][a-z]{2} \d{1,2} \(America\/Los_Angeles\) · [A-Z][a-z]{2} \d{1,2}, \d{4}, 9:00\sAM your time$/,
    );
    await screenshot(page, 'partner-claim');
    await page.getByRole('link', { name: 'My claims' }).click();
    await page.getByRole('link', { name: 'Contoso' }).waitFor();
    await page.locator('.deadline-name', { hasText: 'Review start' }).first().waitFor();
    await expectAccessible(page, 'partner claims list');
    await screenshot(page, 'partner-claims');
  });

  it('reviewer: sees the claim in the queue, requests information with the detected deficiencies preselected', async () => {
    const page = await newPage();
    await signIn(page, 'reviewer', {}, 'Rita Reviewer');
    await page.waitForURL('**/queues');
    const toStart = page.getByRole('region', { name: /To start/ });
    await toStart.getByRole('link', { name: 'Contoso' }).waitFor();
    await toStart.getByText(/^Review start: \d+ business days left/).first().waitFor();
    await expectAccessible(page, 'reviewer queues');
    await screenshot(page, 'reviewer-queues');
    await toStart.getByRole('link', { name: 'Contoso' }).click();
    await act(page, 'Start review');
    await page.getByRole('heading', { name: 'Under review' }).waitFor();
    await page.getByRole('button', { name: 'Request information', exact: true }).click();
    const form = page.getByRole('region', { name: 'What you can do now' }).locator('form');
    expect(await form.getByRole('checkbox', { name: /missingCustomerAcknowledgment/ }).isChecked()).toBe(true);
    expect(await form.getByRole('checkbox', { name: /missingAllPoe/ }).isChecked()).toBe(false);
    await form.getByLabel('Comment').fill('Please upload the signed statement of work.');
    await expectAccessible(page, 'reviewer review page');
    await screenshot(page, 'reviewer-review');
    await form.getByRole('button', { name: 'Request information', exact: true }).click();
    await page.getByRole('heading', { name: 'Partner action required' }).waitFor();
  });

  it('partner: answers in the comments, edits the products, resubmits; reviewer approves; open pages follow live', async () => {
    const reviewer = await newPage();
    await signIn(reviewer, 'reviewer', {}, 'Rita Reviewer');
    await reviewer.waitForURL('**/queues');
    await reviewer.getByRole('region', { name: /Waiting on partner/ }).getByRole('link', { name: 'Contoso' }).waitFor();
    await reviewer.getByText('● Live').waitFor();

    const page = await newPage();
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await page.goto(claimUrl);
    await page.getByLabel('Add a comment').fill('Uploaded the signed copy; Exchange is in scope too.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Exchange is in scope too.').waitFor();
    const edit = page.getByRole('region', { name: 'Edit claim' });
    await edit.getByLabel('exchange').check();
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('teams, exchange').first().waitFor();
    await act(page, 'Resubmit');
    await page.getByRole('heading', { name: 'Under review' }).waitFor();

    // The reviewer's open queues move the claim without a reload (GET /v1/events).
    const inReview = reviewer.getByRole('region', { name: /In review/ });
    await inReview.getByRole('link', { name: 'Contoso' }).waitFor();
    await inReview.getByRole('link', { name: 'Contoso' }).click();
    await act(reviewer, 'Approve');
    await reviewer.getByRole('heading', { name: /Approved/ }).waitFor();
    // And the partner's open claim page shows the approval without a reload.
    await page.getByRole('heading', { name: /Approved/ }).waitFor();
    await page.getByText('This claim was updated.').waitFor();
  });

  it('customer: sees the claim on the tenant and denies consent with a comment', async () => {
    const page = await newPage();
    await signIn(page, 'customer', { tenantId: TENANT }, 'Ana Ruiz');
    await page.waitForURL('**/claims');
    await page.getByRole('link', { name: 'Contoso' }).click();
    // The consent window counts calendar days (the policy's `days`), and the box says so.
    const deadlines = page.getByRole('region', { name: 'Deadlines' });
    await deadlines.getByText('Customer consent window').waitFor();
    await deadlines.getByText(/^[67] days left \(\d+ h\)$/).waitFor();
    expect(await deadlines.getByText(/business days/).count()).toBe(0);
    await expectAccessible(page, 'customer claim page');
    await screenshot(page, 'customer-claim');
    await act(page, 'Deny consent', async (p) => {
      await p.getByRole('region', { name: 'What you can do now' }).locator('form').getByLabel('Comment').fill('We did not work with this partner.');
    });
    await page.getByRole('heading', { name: /Rejected/ }).waitFor();
  });

  it("partner: disputes the rejection with the reference's fields and the days left; reviewer resolves it", async () => {
    const page = await newPage();
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await page.goto(claimUrl);
    await page.getByText('30 days left to dispute').waitFor();
    await act(page, 'Dispute', async (p) => {
      const form = p.getByRole('region', { name: 'What you can do now' }).locator('form');
      await form.getByText('CPOR association claim ID').waitFor();
      await form.getByLabel('Incentive program name').fill('Microsoft Commerce Incentives');
      await form.getByLabel('Details of the issue').fill('The customer confirmed our engagement in writing.');
      await expectAccessible(p, 'the dispute form');
      await screenshot(p, 'partner-dispute');
    });
    await page.getByRole('heading', { name: /Disputed/ }).waitFor();

    const reviewer = await newPage();
    await signIn(reviewer, 'reviewer', {}, 'Rita Reviewer');
    await reviewer.goto(claimUrl);
    await act(reviewer, 'Resolve dispute', async (p) => {
      const form = p.getByRole('region', { name: 'What you can do now' }).locator('form');
      await form.getByLabel('Outcome').selectOption('upheld');
      await form.getByLabel('Comment').fill('The denial of consent stands.');
    });
    await reviewer.getByRole('heading', { name: /Rejected/ }).waitFor();
  });

  it('History shows every step with actor role, event, from and to, each linked in the hash chain', async () => {
    const page = await newPage();
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await page.goto(`${claimUrl}/history`);
    const rows = page.locator('table.history tbody tr');
    await rows.first().waitFor();
    const events = await rows.locator('td:nth-child(4)').allTextContents();
    expect(events).toEqual([
      'Create',
      'Upload PoE',
      'Submit',
      'Start review',
      'Request information',
      'Comment',
      'Edit',
      'Resubmit',
      'Approve',
      'Deny consent',
      'Dispute',
      'Resolve dispute',
    ]);
    expect(await rows.locator('td:nth-child(7)').allTextContents()).toEqual(events.map(() => '✓ Linked'));
    // From → to in the policy's status titles, never raw state ids (partnerActionRequired).
    const fromTo = await rows.locator('td:nth-child(5)').allTextContents();
    expect(fromTo).toContain('Under review → Partner action required');
    expect(fromTo.filter((text) => /[a-z][A-Z]/.test(text))).toEqual([]);
    await page.getByLabel('Filter by event or role').fill('reviewer');
    await expect.poll(() => rows.count()).toBe(4);
    await page.getByLabel('Filter by event or role').fill('');
    await expectAccessible(page, 'history');
    await screenshot(page, 'history');
  });

  it("partner B opening partner A's claim URL sees not found", async () => {
    const page = await newPage();
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_B }, 'Sam Other');
    await page.goto(claimUrl);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    expect(await page.getByText('Contoso').count()).toBe(0);
  });

  it('speaks German when chosen, and the page loads nothing its CSP refuses', async () => {
    const page = await newPage();
    await signIn(page, 'incentivesAdmin', { partnerId: PARTNER_A }, 'Li Wei');
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('heading', { name: 'Meine Ansprüche' }).waitFor();
    // The status filter follows the language without a reload (the policy's titles in German).
    await expect.poll(() => page.getByRole('search').locator('select option').allTextContents()).toContain('In Bearbeitung');
    await expectAccessible(page, 'claims list in German');
    await page.goto(`${claimUrl}/history`);
    await page.locator('table.history tbody tr').first().waitFor();
    expect(await page.locator('table.history td:nth-child(5)').allTextContents()).toContain('In Prüfung → Aktion des Partners erforderlich');
    expect(cspErrors).toEqual([]);
  });
});

/** Bytes that sniff as a PDF. */
function pdf(): Buffer {
  return Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), Buffer.alloc(2048, 0x20)]);
}
