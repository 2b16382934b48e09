/**
 * Real-browser tests: a real `cpor serve` process on a SQLite file in a temporary folder (the
 * built dashboard in dist/web), and Debian's chromium driven by playwright-core (never a
 * downloaded browser). axe-core is injected from node_modules to check each view.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
/**
 * Every run saves its screenshots under test-results/screenshots/ (ignored by git), so a test
 * run leaves the checkout clean; `UPDATE_SCREENSHOTS=1 npm test` refreshes the committed ones
 * in docs/screenshots/ that the README shows.
 */
const SCREENSHOTS = join(ROOT, ...(process.env.UPDATE_SCREENSHOTS === '1' ? ['docs', 'screenshots'] : ['test-results', 'screenshots']));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Served {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** dist/web exists (`npm test` builds first; a single test file run builds it when missing). */
export function ensureBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'web', 'index.html'))) return;
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
}

/**
 * Starts `cpor serve` on a free port with a fresh data folder, or `options.dataDir` (kept), with
 * the generated development secret: development sign-in on.
 */
export async function startServe(options: { args?: string[]; env?: Record<string, string>; dataDir?: string } = {}): Promise<Served> {
  ensureBuilt();
  const extraArgs = options.args ?? [];
  const extraEnv = options.env ?? {};
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cpor-browser-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...extraEnv };
  for (const name of ['DATABASE_URL', 'CPOR_POLICY', 'JWT_SECRET', 'JWKS_URL', 'OIDC_ISSUER', 'npm_lifecycle_event']) if (!(name in extraEnv)) delete env[name];
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'cpor.mjs'), 'serve', ...extraArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`cpor serve did not start: ${output}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.includes('cpor service listening'));
      if (line) {
        clearTimeout(timer);
        resolveStart((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cpor serve exited with ${code}: ${output}`));
    });
  });
  return {
    url,
    dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical violations on the page as it is now (none expected). */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Injected through the DevTools protocol (addScriptTag's inline script is refused by the page's CSP).
  await page.evaluate(AXE);
  // A string, so this Node-typed file needs no DOM types: run in the page, it returns the violations.
  const violations: unknown = await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)");
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface Dashboard {
  /** The served dashboard's base URL. */
  readonly url: string;
  /** A fresh browser profile (its own sessionStorage), English, in a fixed zone and size. */
  newPage(): Promise<Page>;
}

/**
 * One `cpor serve` and one chromium for the test file (started before its tests, stopped after);
 * `onPage` sees each new page (to collect console errors).
 */
export function useDashboard(onPage?: (page: Page) => void): Dashboard {
  let served: Served | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    served = await startServe();
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await served?.stop();
  });
  return {
    get url() {
      if (!served) throw new Error('useDashboard: the service is not started yet (use it inside a test)');
      return served.url;
    },
    async newPage() {
      if (!browser) throw new Error('useDashboard: the browser is not started yet (use it inside a test)');
      const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      onPage?.(page);
      return page;
    },
  };
}

/** No serious or critical axe violation on the page's current view. */
export async function expectAccessible(page: Page, view: string): Promise<void> {
  expect(await seriousViolations(page), `axe on ${view}`).toEqual([]);
}
