/**
 * OpenID Connect sign-in in Debian's chromium: `cpor serve` configured with a local provider
 * (test/support/oidc-provider.ts); the dashboard offers no development sign-in, sends the
 * browser through the provider's /authorize (authorization code with PKCE S256), trades the code
 * at /token and calls the API with the access token.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, seriousViolations, startServe, type Served } from '../support/browser';
import { startOidcProvider, type OidcProvider } from '../support/oidc-provider';

let idp: OidcProvider;
let served: Served;
let browser: Browser;

beforeAll(async () => {
  idp = await startOidcProvider({ clientId: 'cpor-dashboard', user: { sub: 'olga', claims: { role: 'reviewer', name: 'Olga Okafor' } } });
  served = await startServe({ env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: 'cpor-dashboard' } });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  await idp?.close();
});

describe('OpenID Connect sign-in in a real browser', { timeout: 120_000 }, () => {
  it('signs in through the provider with PKCE and uses the access token on the API', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const authorize: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`${idp.issuer}/authorize`)) authorize.push(request.url());
    });
    await page.goto(`${served.url}/`);
    const button = page.getByRole('button', { name: 'Sign in with your organization' });
    await button.waitFor();
    expect(await page.getByText('Development sign-in').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await button.click();
    await page.getByText('Signed in as Olga Okafor (reviewer)').waitFor();
    await page.waitForURL('**/queues');
    await page.getByRole('heading', { name: 'Review queues' }).waitFor();
    const sent = new URL(authorize[0]!).searchParams;
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('redirect_uri')).toBe(`${served.url}/callback`);
    await context.close();
  });
});
