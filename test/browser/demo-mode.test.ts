/**
 * Demo mode in Debian's chromium (`cpor serve --demo`): the seeded claims, and the virtual clock
 * moved from a reviewer's demo bar until an approved claim's consent window passes and it is
 * sent for assessment, the partner's open claim page following without a reload. The partner
 * sees the clock read-only: only the people running the demo (reviewer, internal kinds) move it.
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
  it("a reviewer moves the virtual clock from the demo bar until a consent window passes, and the partner's claim page (clock read-only) follows", async () => {
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
    // The partner reads the clock but has no controls.
    await demo.getByText(/read-only/).waitFor();
    expect(await demo.getByRole('button').count()).toBe(0);

    const reviewerContext = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const reviewer = await reviewerContext.newPage();
    reviewer.setDefaultTimeout(10_000);
    await reviewer.goto(`${served.url}/`);
    await reviewer.getByLabel('Role').selectOption('reviewer');
    await reviewer.getByRole('button', { name: 'Sign in' }).click();
    await reviewer.waitForURL('**/queues');
    const controls = reviewer.getByRole('region', { name: /Demo mode/ });
    await controls.getByRole('button', { name: 'Next deadline' }).waitFor();
    expect(await seriousViolations(reviewer)).toEqual([]);
    await screenshot(reviewer, 'demo-clock-controls');
    const before = await controls.getByText(/^Virtual clock:/).textContent();
    for (let i = 0; i < 5 && (await page.getByRole('heading', { name: 'Approved (sent for assessment)' }).count()) === 0; i++) {
      await controls.getByRole('button', { name: 'Next deadline' }).click();
      await page.waitForTimeout(1000);
    }
    await page.getByRole('heading', { name: 'Approved (sent for assessment)' }).waitFor();
    expect(await controls.getByText(/^Virtual clock:/).textContent()).not.toBe(before);
    await reviewerContext.close();
    await context.close();
  });
});
