/**
 * Demo mode in Debian's chromium (`cpor serve --demo`): the seeded claims, and the virtual clock
 * moved from the dashboard's demo bar until an approved claim's consent window passes and it is
 * sent for assessment, the open claim page following without a reload.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, seriousViolations, startServe, type Served } from '../support/browser';

let served: Served;
let browser: Browser;

beforeAll(async () => {
  served = await startServe({ args: ['--demo'] });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

describe('demo mode in a real browser', { timeout: 120_000 }, () => {
  it("moves the virtual clock from the demo bar until a consent window passes and the claim goes to assessment", async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${served.url}/`);
    await page.getByLabel('Role').selectOption('incentivesAdmin');
    await page.getByLabel('Partner ID').fill('4512345');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/claims');
    const demo = page.getByRole('region', { name: /Demo mode/ });
    await demo.getByText(/^Virtual clock:/).waitFor();
    await page.getByLabel('Status').selectOption('approved');
    await page.getByRole('link', { name: 'Contoso Ltd.' }).first().click();
    await page.getByRole('heading', { name: 'Approved (consent period)' }).waitFor();
    await page.getByRole('region', { name: 'Deadlines' }).getByText('Customer consent window', { exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'demo-consent-window');
    const before = await demo.getByText(/^Virtual clock:/).textContent();
    for (let i = 0; i < 5 && (await page.getByRole('heading', { name: 'Approved (sent for assessment)' }).count()) === 0; i++) {
      await demo.getByRole('button', { name: 'Next deadline' }).click();
      await page.waitForTimeout(1000);
    }
    await page.getByRole('heading', { name: 'Approved (sent for assessment)' }).waitFor();
    expect(await demo.getByText(/^Virtual clock:/).textContent()).not.toBe(before);
    await context.close();
  });
});
