/**
 * The policy console in Debian's chromium against a real `cpor serve` on a policy folder of its
 * own (the bundled policy copied to a temporary folder): a program manager opens the policy,
 * breaks it and sees the error at its line, fixes it, compares the draft with the live version,
 * saves it as a shadow version and finds it listed as shadow. axe on every view; the editor is
 * left with Escape then Tab.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshot, startServe, type Served } from '../support/browser';
import { BUNDLED_POLICY_PATH, bundledPolicyText } from '../support/policy-factory';

let policies: string;
let served: Served;
let browser: Browser;
const problems: string[] = [];

beforeAll(async () => {
  policies = mkdtempSync(join(tmpdir(), 'cpor-console-policies-'));
  copyFileSync(BUNDLED_POLICY_PATH, join(policies, 'cpor.yaml'));
  served = await startServe({ env: { CPOR_POLICY: policies } });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  rmSync(policies, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => {
    // Every error counts, Chromium's own /favicon.ico request included (the app answers it).
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return page;
}

/** Answers here come from a real service and a browser on a shared machine. */
const POLL = { timeout: 15_000 };

/** Pastes `text` into the editor at its selection, as the clipboard does. */
async function paste(page: Page, text: string): Promise<void> {
  await page.evaluate(`(() => {
    const data = new DataTransfer();
    data.setData('text/plain', ${JSON.stringify(text)});
    const content = document.querySelector('.policy-editor').shadowRoot.querySelector('.cm-content');
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  })()`);
}

/** A candidate: version 2026.2 from 2099, partners given 10 business days instead of 5. */
const candidate = () =>
  bundledPolicyText()
    .replace('version: "2026.1"', 'version: "2026.2"')
    .replace('effective: 2026-01-01T00:00:00Z', 'effective: 2099-01-01T00:00:00Z')
    .replace(/(partnerResponse:[\s\S]*?businessDays: )5/, '$110');

describe('the policy console', () => {
  it('a program manager breaks the policy and sees the error at its line, fixes it, diffs it, and saves it as a shadow version', async () => {
    const page = await newPage();
    await page.goto(`${served.url}/signin`);
    await page.getByLabel('Role').selectOption('programManager');
    await page.getByLabel('Your name').fill('Pat Manager');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Policy console' }).waitFor();

    // The versions.
    await page.getByRole('link', { name: 'Policy versions' }).click();
    const live = page.locator('tr[data-version="2026.1"]');
    await expect.poll(() => live.textContent(), POLL).toMatch(/In effect.*0.*cpor\.yaml/);
    await expect.poll(() => page.getByText('Every policy file loads.').count(), POLL).toBe(1);
    await expectAccessible(page, 'policy versions');
    await screenshot(page, 'console-policy-versions');

    // The editor: the bundled policy loads with no problem.
    await page.getByRole('link', { name: 'Edit cpor.yaml' }).click();
    const editor = page.getByRole('textbox', { name: 'Policy YAML of cpor.yaml' });
    await editor.waitFor();
    await page.getByRole('heading', { name: 'No problems' }).waitFor();
    await expectAccessible(page, 'policy editor');

    // Keys complete from the schema at the cursor's path.
    await editor.click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.type('shad');
    await page.locator('.cm-tooltip-autocomplete .cm-completionLabel', { hasText: /^shadow$/ }).waitFor();
    await page.keyboard.press('Escape');
    for (let i = 0; i < 4; i++) await page.keyboard.press('Backspace');

    // Break it: an unknown key on line 1, flagged there (gutter, underline) and in the list.
    await paste(page, 'bogus: 1\n');
    await page.getByRole('heading', { name: 'Problems (1)' }).waitFor();
    const problem = page.locator('.issue').first();
    await expect.poll(() => problem.textContent(), POLL).toMatch(/Line 1, column 1.*unknownProperty.*Unknown property "bogus".*\$\.bogus/);
    await page.locator('.cm-lint-marker-error').first().waitFor();
    await expect.poll(() => page.locator('.cm-lintRange-error').first().textContent(), POLL).toBe('bogus: 1');
    expect(await page.getByRole('button', { name: 'Save as shadow version' }).isDisabled()).toBe(true);
    await expectAccessible(page, 'policy editor with a problem');
    await screenshot(page, 'console-policy-editor-error');

    // Fix it.
    await editor.click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Backspace');
    await page.getByRole('heading', { name: 'No problems' }).waitFor();

    // Keyboard: Tab indents inside the editor; Escape then Tab leaves it.
    await page.keyboard.press('Tab');
    const inEditor = 'document.activeElement.shadowRoot?.activeElement?.classList.contains("cm-content") === true';
    expect(await page.evaluate(inEditor)).toBe(true);
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(inEditor)).toBe(false);
    expect(await page.evaluate('document.activeElement.closest("label")?.textContent')).toMatch(/^File name/);

    // The candidate, diffed against the live version.
    await editor.click();
    await page.keyboard.press('Control+A');
    await paste(page, candidate());
    await page.getByRole('heading', { name: 'No problems' }).waitFor();
    await page.getByRole('button', { name: 'Compare with a version' }).click();
    await page.getByRole('heading', { name: 'Compare versions' }).waitFor();
    const deadlines = page.getByRole('region', { name: 'deadlines' });
    await deadlines.waitFor();
    const row = deadlines.locator('tr', { hasText: 'deadlines.partnerResponse.businessDays' });
    await expect.poll(async () => (await row.locator('td').allTextContents()).map((s) => s.trim()), POLL).toEqual(['5', '10']);
    await expect.poll(() => page.getByRole('region', { name: 'meta' }).textContent(), POLL).toMatch(/version.*2026\.1.*2026\.2/s);
    await expectAccessible(page, 'policy diff');
    await screenshot(page, 'console-policy-diff');

    // Saved as a shadow version under a file of its own.
    await page.getByRole('link', { name: 'Back to the editor' }).click();
    await page.getByRole('heading', { name: 'No problems' }).waitFor();
    await page.getByLabel('File name').fill('candidate.yaml');
    await page.getByRole('button', { name: 'Save as shadow version' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), POLL).toBe('Saved cpor 2026.2 as candidate.yaml, a shadow version; it is loaded.');
    expect(readFileSync(join(policies, 'candidate.yaml'), 'utf8')).toContain('effective: 2099-01-01T00:00:00Z\nshadow: true\n');

    await page.getByRole('link', { name: '← Policy versions' }).click();
    const shadow = page.locator('tr[data-version="2026.2"]');
    await expect.poll(() => shadow.textContent(), POLL).toMatch(/Shadow.*candidate\.yaml/);
    await expectAccessible(page, 'policy versions with a shadow version');
    await screenshot(page, 'console-policy-shadow');
    expect(problems).toEqual([]);
  }, 120_000);
});
