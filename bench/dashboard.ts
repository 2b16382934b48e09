/**
 * `npm run bench -- dashboard`: what the dashboard costs its users. The JavaScript and CSS every
 * page loads (gzip), what the PoE preview fetches when opened, and the time from opening My claims to a usable list (the first rows shown) for
 * a partner with 10,000 claims, in Debian's chromium against `cpor serve` on a SQLite file,
 * beside the API call that list makes (GET /v1/claims?limit=25) timed from Node in the same run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium, startServe } from '../test/support/browser';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = 7;

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Raw and gzip bytes of the named files in dist/web/assets. */
function sizeOf(dir: string, files: readonly string[]) {
  const size = { raw: 0, gzip: 0 };
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    size.raw += bytes.length;
    size.gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return size;
}

/**
 * Sizes of the built assets (dist/web/assets), raw and gzip: what every page loads (the script
 * and stylesheet index.html names), and what only an opened PoE preview fetches (the PDF
 * renderer and pdf.js's worker). Source maps are not shipped to users' browsers unasked.
 */
function assetSizes() {
  const dir = join(ROOT, 'dist', 'web', 'assets');
  const index = readFileSync(join(ROOT, 'dist', 'web', 'index.html'), 'utf8');
  const named = new Set([...index.matchAll(/\/assets\/([^"]+)/g)].map((m) => m[1]!));
  const files = readdirSync(dir).filter((file) => !file.endsWith('.map'));
  return {
    js: sizeOf(dir, files.filter((file) => named.has(file) && file.endsWith('.js'))),
    css: sizeOf(dir, files.filter((file) => named.has(file) && file.endsWith('.css'))),
    lazy: sizeOf(dir, files.filter((file) => !named.has(file) && /\.m?js$/.test(file))),
  };
}

/**
 * `seed(dataDir)` stores the claims (all of partner `partnerId`) in the SQLite file of `dataDir`
 * and closes it; the service is then started on that folder.
 */
export async function benchDashboard(seed: (dataDir: string) => Promise<number>, dataDir: string, partnerId: string): Promise<void> {
  const sizes = assetSizes();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `5. Dashboard  JS ${kb(sizes.js.gzip)} gzip (${kb(sizes.js.raw)}), CSS ${kb(sizes.css.gzip)} gzip (${kb(sizes.css.raw)}) on every page; ` +
      `PoE preview's PDF renderer and worker, fetched when a preview opens: ${kb(sizes.lazy.gzip)} gzip (${kb(sizes.lazy.raw)})`,
  );

  const count = await seed(dataDir);
  const served = await startServe({ dataDir });
  const browser = await launchChromium();
  try {
    const signIn = await fetch(`${served.url}/v1/auth/dev-token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ role: 'incentivesAdmin', partnerId, name: 'Bench' }),
    });
    const { token, expiresAt } = (await signIn.json()) as { token: string; expiresAt: string };
    const session = { token, expiresAt, role: 'incentivesAdmin', kind: 'partner', partnerId, name: 'Bench' };

    const api: number[] = [];
    for (let i = 0; i < ROUNDS + 1; i++) {
      const start = performance.now();
      const res = await fetch(`${served.url}/v1/claims?limit=25`, { headers: { Authorization: `Bearer ${token}` } });
      const page = (await res.json()) as { items: unknown[] };
      if (page.items.length !== 25) throw new Error(`GET /v1/claims gave ${page.items.length} claims`);
      if (i > 0) api.push(performance.now() - start); // the first warms the service
    }

    const usable: number[] = [];
    for (let i = 0; i < ROUNDS + 1; i++) {
      // A fresh profile each time: nothing cached but what the first round warmed in the service.
      const context = await browser.newContext();
      // Signed in as the app keeps it (a string script: this Node-typed file has no DOM types).
      await context.addInitScript(`sessionStorage.setItem('cpor.session', ${JSON.stringify(JSON.stringify(session))})`);
      const page = await context.newPage();
      const start = performance.now();
      await page.goto(`${served.url}/claims`);
      await page.locator('table tbody tr').nth(24).waitFor({ timeout: 60_000 });
      if (i > 0) usable.push(performance.now() - start);
      await context.close();
    }
    console.log(
      `             My claims usable (25 of ${count.toLocaleString('en-US')} claims shown, fresh browser profile): median ${median(usable).toFixed(0)} ms, ` +
        `beside GET /v1/claims?limit=25 median ${median(api).toFixed(1)} ms (${ROUNDS} runs each)`,
    );
  } finally {
    await browser.close();
    await served.stop();
  }
}
