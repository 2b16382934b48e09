/**
 * The console's backtest page in Debian's chromium against a real `cpor serve` (SQLite): a
 * program manager pastes a candidate policy, runs it against claims seeded through the API
 * (with the keyboard), sees progress reach 100%, the charts, the latency figures and the
 * per-claim table, and downloads the CSV. axe on the page before and after.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, screenshot, useDashboard } from '../support/browser';
import { policyYaml } from '../support/policy-factory';

const PARTNER = '4512345';
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';
const dash = useDashboard();

async function signIn(page: Page, role: string, name: string): Promise<void> {
  await page.goto(`${dash.url}/signin`);
  await page.getByLabel('Role').selectOption(role);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${name}`).waitFor();
}

async function seedClaims(count: number): Promise<string[]> {
  const res = await fetch(`${dash.url}/v1/auth/dev-token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ role: 'incentivesAdmin', partnerId: PARTNER }),
  });
  const { token } = (await res.json()) as { token: string };
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await fetch(`${dash.url}/v1/claims`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        partnerId: PARTNER,
        mpnId: PARTNER,
        customer: { tenantId: TENANT, name: `Contoso ${i}`, domain: `contoso${i}.com` },
        activity: 'preSales',
        products: [{ line: 'microsoft365', workload: 'teams' }],
        customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
        partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
      }),
    });
    expect(created.status).toBe(201);
    ids.push(((await created.json()) as { id: string }).id);
  }
  return ids;
}

describe('console: backtest', () => {
  it('a program manager backtests a pasted candidate against the stored claims: progress to 100%, charts, latency, the table, the CSV', async () => {
    const ids = await seedClaims(3);
    const page = await dash.newPage();
    await signIn(page, 'programManager', 'Pat Manager');
    await page.goto(`${dash.url}/console/backtest`);
    await page.getByRole('heading', { name: 'Backtest', level: 1 }).waitFor();
    await expectAccessible(page, 'console backtest form');

    // Keyboard: choose "Paste YAML", paste the candidate, run with Enter.
    await page.getByLabel('Paste YAML').focus();
    await page.keyboard.press('Space');
    await page.getByLabel('Policy YAML').fill(policyYaml({ version: '2026.2-candidate', deadlines: { partnerResponse: { businessDays: 10 } } }));
    await page.getByRole('button', { name: 'Run backtest' }).focus();
    await page.keyboard.press('Enter');

    await page.getByText('3 of 3 claims replayed (100%)').waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Totals' }).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('progress').getAttribute('value')).toBe('100');
    await expect.poll(() => page.getByText('3 claims: 0 changed, 3 unchanged, 0 skipped.').count()).toBe(1);
    const byStatus = page.getByRole('figure', { name: 'Outcome by status, before → after' });
    await expect.poll(() => byStatus.getByRole('row').count()).toBe(2);
    expect(await byStatus.getByRole('row').nth(1).innerText()).toMatch(/Editing editing\s+Editing editing\s+3/);
    await page.getByRole('heading', { name: 'Evaluation time per claim (same claims)' }).waitFor();
    expect(await page.getByRole('row', { name: /Candidate/ }).innerText()).toMatch(/\d+\.\d\d ms/);
    const table = page.getByRole('table', { name: 'Per claim' });
    await expect.poll(() => table.getByRole('row').count()).toBe(4);
    for (const id of ids) await table.getByRole('cell', { name: id }).waitFor();
    await expectAccessible(page, 'console backtest report');
    await screenshot(page, 'console-backtest');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('backtest-2026.2-candidate.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe(
      'claimId,changed,fieldsChanged,statusBefore,statusAfter,reasonBefore,reasonAfter,overdueBefore,overdueAfter,deficienciesBefore,deficienciesAfter,deadlineChanges',
    );
    expect(csv.trimEnd().split('\r\n')).toHaveLength(4);
  }, 180_000);
});
