/**
 * The policy console's scenario pages in Debian's chromium against a real `cpor serve`: a program
 * manager picks a bundled scenario and sees its timeline picture with its steps, uploads a scenario
 * file (its markup shown as text, never run), redraws from the keyboard, downloads the SVG, and runs
 * the scenarios with rule coverage (100% for the bundled policy). axe-core on each view.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, screenshot, useDashboard } from '../support/browser';

const cspErrors: string[] = [];
const dialogs: string[] = [];
const dash = useDashboard((page) => {
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

/** A scenario file whose strings carry markup. */
const HOSTILE = `name: "<script>alert('name')</script> Hostile names"
claim:
  name: "<img src=x onerror=alert(1)>"
  partnerId: "4623017"
  customer: { tenantId: 41a6a6ce-3bfd-435e-960f-d4e4bcd046dc, domain: fourthcoffee.com, name: "</text><script>alert(2)</script>" }
  activity: deployment
  products:
    - { line: businessApplications, product: dynamics365Finance, subscriptionId: 136c3e01-12d2-4a13-b7db-f2376a182a1e }
steps:
  - { at: 2026-03-16T15:00:00Z, by: globalAdmin, do: create }
  - { at: 2026-03-16T16:00:00Z, by: globalAdmin, do: submit }
`;

async function signInAsProgramManager(page: Page): Promise<void> {
  await page.goto(`${dash.url}/`);
  await page.waitForURL('**/signin');
  await page.getByLabel('Role').focus();
  await page.getByLabel('Role').selectOption('programManager');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Mara Jensen');
  await page.keyboard.press('Enter');
  await page.getByText('Signed in as Mara Jensen').waitFor();
  await page.waitForURL('**/console');
}

describe('policy console: scenario pictures and coverage', { timeout: 180_000 }, () => {
  it('program manager: picks a bundled scenario and sees its picture, uploads one, redraws from the keyboard, runs coverage', async () => {
    const page = await dash.newPage();
    await signInAsProgramManager(page);
    await page.getByRole('link', { name: 'Scenario pictures' }).click();
    await page.getByRole('heading', { name: 'Scenario pictures', level: 1 }).waitFor();
    await expect.poll(() => page.locator('#scenario-pick option').count(), { timeout: 20_000 }).toBeGreaterThan(50);
    await expectAccessible(page, 'console scenarios (empty)');

    // Pick from the keyboard's reach: the select is a labelled control.
    await page.getByLabel('Bundled scenario').selectOption('timeline-decision-target-paused.yaml');
    const figure = page.locator('figure.timeline-figure');
    await figure.locator('svg').waitFor();
    const svg = figure.locator('svg');
    expect(await svg.getAttribute('role')).toBe('img');
    // Bands: the claim's states (underReview, partnerActionRequired, approved) over time, a hatched pause.
    expect(await svg.locator('rect[height="40"]').count()).toBeGreaterThanOrEqual(4);
    expect(await svg.locator('rect[fill="#c7d2fe"]').count()).toBeGreaterThan(0);
    expect(await svg.locator('rect[fill="url(#cpor-timeline-hatch)"]').count()).toBeGreaterThan(0);
    await page.getByRole('img', { name: 'Scenario timeline: Decision target pauses while the partner is asked for information' }).waitFor();
    await page.getByRole('heading', { name: 'Decision target pauses while the partner is asked for information' }).waitFor();
    const steps = page.getByRole('table', { name: 'Steps' });
    await steps.getByRole('cell', { name: 'requestInfo' }).waitFor();
    expect(await steps.locator('tbody tr').count()).toBeGreaterThan(5);
    await page.getByText('expectations met', { exact: true }).waitFor();
    // The text alternative: the picture in words.
    await page.getByText('The picture in words').click();
    await figure.locator('figcaption').getByText(/Deadline decisionTarget started Mon Mar 16 10:00, due Tue Apr 7 00:00, paused/).waitFor();
    await expectAccessible(page, 'console scenarios (picture)');
    await screenshot(page, 'console-scenarios');

    // Download: the same picture, as a file named after the scenario.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download SVG' }).click()]);
    expect(download.suggestedFilename()).toBe('timeline-decision-target-paused.svg');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile((await download.path())!, 'utf8')).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*Decision target pauses/);

    // Upload a scenario file whose names carry markup: shown as text, nothing runs.
    await page.locator('input[type="file"]').setInputFiles({ name: 'hostile.yaml', mimeType: 'application/yaml', buffer: Buffer.from(HOSTILE) });
    await page.getByRole('heading', { name: "<script>alert('name')</script> Hostile names" }).waitFor();
    await figure.locator('svg').waitFor();
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(await figure.locator('svg title').first().textContent()).toBe("Scenario timeline: <script>alert('name')</script> Hostile names");
    expect(await page.getByLabel('Scenario (YAML)').inputValue()).toBe(HOSTILE);

    // Keyboard: edit the YAML, Tab to the button, Enter redraws.
    const renamed = HOSTILE.replace("<script>alert('name')</script> Hostile names", 'Renamed from the keyboard');
    await page.getByLabel('Scenario (YAML)').fill(renamed);
    await page.getByLabel('Scenario (YAML)').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Run and draw');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Renamed from the keyboard' }).waitFor();

    // A scenario that does not load: its line, in an alert.
    await page.getByLabel('Scenario (YAML)').fill(renamed.replace('do: submit', 'do: fly'));
    await page.getByRole('button', { name: 'Run and draw' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toMatch(/hostile\.yaml:11:/);

    // Coverage of the bundled policy by the bundled scenarios.
    await page.getByRole('link', { name: 'Policy console' }).first().click();
    await page.getByRole('link', { name: 'Rule coverage' }).click();
    await page.getByRole('heading', { name: 'Rule coverage', level: 1 }).waitFor();
    await expectAccessible(page, 'console coverage (form)');
    await page.getByLabel('Threshold (%)').focus();
    await page.keyboard.press('Enter');
    const status = page.getByRole('status');
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/100% covered \(\d+ of \d+ outcomes\)/);
    await status.getByText('meets the threshold of 100%').waitFor();
    const rules = page.getByRole('table', { name: 'Rules and conditions: how often each was true and false' });
    const row = rules.getByRole('row', { name: /poeRequired/ });
    await row.waitFor();
    expect(await row.getByRole('cell').count()).toBe(2);
    expect(Number(await row.getByRole('cell').first().textContent())).toBeGreaterThan(0);
    await rules.getByText('poeCount greaterThanInclusive 1').waitFor();
    expect(await page.locator('.chip-danger').count()).toBe(0);
    await page.getByRole('table', { name: 'Deadlines' }).getByRole('row', { name: /decisionTarget/ }).waitFor();
    await expectAccessible(page, 'console coverage (report)');
    await screenshot(page, 'console-coverage');

    expect(dialogs).toEqual([]);
    expect(cspErrors).toEqual([]);
  });
});
