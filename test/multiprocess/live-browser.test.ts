/**
 * Live updates across instances, in Debian's chromium: a throwaway PostgreSQL cluster and two
 * real `cpor serve` processes on it (A and B). The partner's claim page and the reviewer's
 * queues are open on instance A; the claim changes through instance B's API; both pages follow
 * without a reload (GET /v1/events on A hears B's commits through PostgreSQL). Here with the
 * multi-process tests (one file at a time, after the rest), so its three servers and chromium do
 * not fight the rest of the suite for the cores.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimFields, PARTNER_ID, pdfBytes, poeFormFields } from '../support/factories';
import { ensureBuilt, launchChromium, screenshot, seriousViolations } from '../support/browser';
import { startServiceProcesses, type ServiceProcesses } from '../support/service-processes';

let services: ServiceProcesses;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  ensureBuilt(); // the dashboard the instances serve (dist/web)
  services = await startServiceProcesses({ count: 2, env: { LOG_LEVEL: 'warn' } });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await services?.stop();
}, 60_000);

const PARTNER = { role: 'incentivesAdmin', partnerId: PARTNER_ID, id: 'li.wei' };
const REVIEWER = { role: 'reviewer', id: 'rita' };

/** A page on `url` signed in as `who` (the instances sign with a shared JWT_SECRET: no development sign-in, so the session is placed as sign-in leaves it). */
async function pageAs(url: string, who: typeof PARTNER | typeof REVIEWER, kind: 'partner' | 'reviewer'): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const session = {
    token: await services.token(who),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    role: who.role,
    kind,
    ...('partnerId' in who ? { partnerId: who.partnerId } : {}),
    name: who.id,
  };
  // A string: this Node-typed file has no DOM types; run in the page before its scripts.
  const origin = JSON.stringify(new URL(url).origin);
  await context.addInitScript(
    `if (location.origin === ${origin} && !sessionStorage.getItem('cpor.session')) sessionStorage.setItem('cpor.session', ${JSON.stringify(JSON.stringify(session))});`,
  );
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** A call to instance `i`'s API as `who`; the JSON answer and the ETag. */
async function call(i: number, who: typeof PARTNER | typeof REVIEWER, method: string, path: string, body?: object | FormData, ifMatch?: string) {
  const headers: Record<string, string> = { authorization: await services.bearer(who) };
  if (ifMatch) headers['if-match'] = ifMatch;
  if (body && !(body instanceof FormData)) headers['content-type'] = 'application/json';
  const res = await fetch(`${services.urls[i]}${path}`, { method, headers, body: body instanceof FormData ? body : body && JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, `${method} ${path}: ${JSON.stringify(json)}`).toBeLessThan(300);
  return { json, etag: res.headers.get('etag')! };
}

/** Marks the page; `reloaded` is true once it has loaded again since. */
const mark = (page: Page) => page.evaluate('window.liveMark = 1');
const reloaded = async (page: Page) => (await page.evaluate('window.liveMark')) !== 1;

describe('live updates across two instances on PostgreSQL, in a real browser', { timeout: 180_000 }, () => {
  it("the claim page and the reviewer's queues on instance A follow a change made through instance B, without a reload", async () => {
    const [A, B] = [0, 1];
    // A submitted claim, made through B.
    const created = await call(B, PARTNER, 'POST', '/v1/claims', claimFields({ customer: { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01', domain: 'contoso.com', name: 'Contoso Ltd.' } }));
    const id = created.json.id as string;
    const form = new FormData();
    for (const [key, value] of Object.entries(poeFormFields())) form.append(key, value);
    form.append('file', new Blob([pdfBytes()], { type: 'application/pdf' }), 'sow.pdf');
    const uploaded = await call(B, PARTNER, 'POST', `/v1/claims/${id}/poe`, form);
    await call(B, PARTNER, 'POST', `/v1/claims/${id}/actions/submit`, {}, uploaded.etag);

    // On A: the partner's claim page and the reviewer's queues, both live.
    const partner = await pageAs(services.urls[A]!, PARTNER, 'partner');
    await partner.goto(`${services.urls[A]}/claims/${id}`);
    await partner.getByRole('heading', { name: 'Submitted' }).waitFor();
    await partner.getByText('● Live').waitFor();
    const reviewer = await pageAs(services.urls[A]!, REVIEWER, 'reviewer');
    await reviewer.goto(`${services.urls[A]}/queues`);
    await reviewer.getByRole('region', { name: /To start/ }).getByRole('link', { name: 'Contoso Ltd.' }).waitFor();
    await reviewer.getByText('● Live').waitFor();
    expect(await reviewer.getByRole('region', { name: /In review/ }).getByRole('link', { name: 'Contoso Ltd.' }).count()).toBe(0);
    await Promise.all([mark(partner), mark(reviewer)]);

    // The reviewer starts the review through B's API.
    const current = await call(B, REVIEWER, 'GET', `/v1/claims/${id}`);
    await call(B, REVIEWER, 'POST', `/v1/claims/${id}/actions/startReview`, {}, current.etag);

    // A's pages follow, without a reload.
    await partner.getByRole('heading', { name: 'Under review' }).waitFor();
    await partner.getByText('This claim was updated.').waitFor();
    await reviewer.getByRole('region', { name: /In review/ }).getByRole('link', { name: 'Contoso Ltd.' }).waitFor();
    await reviewer.getByRole('region', { name: /To start/ }).getByRole('link', { name: 'Contoso Ltd.' }).waitFor({ state: 'detached' });
    expect([await reloaded(partner), await reloaded(reviewer)]).toEqual([false, false]);
    expect(await seriousViolations(reviewer)).toEqual([]);
    await screenshot(partner, 'live-postgres-partner-claim');
    await screenshot(reviewer, 'live-postgres-reviewer-queues');
  });
});
