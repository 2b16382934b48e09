/**
 * The dashboard (web/, built into dist/web by scripts/build.mjs) on the API's origin: its
 * content-hashed assets under /assets (cached for good), and index.html for every other GET a
 * browser navigates to (the app's client routes: /claims/…, /queues, /signin), so a reload or
 * a shared link opens the right view. API paths never reach it (the routes are mounted first;
 * an unknown /v1 path stays a problem+json 404), nor does a request that does not accept HTML.
 *
 * The page gets its own Content-Security-Policy: scripts, workers (pdf.js drawing a PoE PDF),
 * styles and connections from this origin only (and the OpenID provider's origin, for the token
 * exchange), PoE images from blob: URLs the page makes; no frames, nothing inline, nothing
 * evaluated, nothing remote, never framed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';

/** dist/web seen from dist/ (the build) and from src/http/ (the sources, tests). */
const CANDIDATES = ['./web/', '../../dist/web/'].map((path) => fileURLToPath(new URL(path, import.meta.url)));
/** The tab's icon (browsers ask for /favicon.ico unprompted): a small SVG, no file to ship. */
const FAVICON = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5cad"/>' +
    '<path d="M9 17l5 5 9-11" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"/></svg>',
);
const NOT_APP = /^\/(v1|openapi\.json|healthz|readyz|metrics)(\/|$)/;

function pageCsp(connectOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    `connect-src 'self'${connectOrigins.map((o) => ` ${o}`).join('')}`,
    "worker-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function staticApp(options: { logger: Logger; dir?: string; connectOrigins?: readonly string[] }): RequestHandler {
  const dir = options.dir ?? CANDIDATES.find((candidate) => existsSync(`${candidate}index.html`));
  if (!dir) {
    options.logger.warn('the dashboard is not built (no dist/web/index.html): run `npm run build`');
    return (_req, _res, next) => next();
  }
  const csp = pageCsp(options.connectOrigins);
  const index = readFileSync(`${dir}/index.html`);
  const assets = express.static(dir, {
    index: false,
    fallthrough: true,
    immutable: true,
    maxAge: '365d',
    setHeaders: (res) => res.set({ 'Content-Security-Policy': csp, 'Cache-Control': 'public, max-age=31536000, immutable' }),
  });
  // One middleware, no routes: the API's route list (and its 404/405 answers) stays the API's.
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path.startsWith('/assets/')) return assets(req, res, next);
    if (req.path === '/favicon.ico') {
      res.set({ 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=86400', 'Content-Security-Policy': "default-src 'none'" });
      return void res.send(FAVICON);
    }
    // Browsers navigating ask for text/html by name; API clients (curl's */*) get the API's 404.
    if (NOT_APP.test(req.path) || !(req.get('accept') ?? '').includes('text/html')) return next();
    res.set({ 'Content-Security-Policy': csp, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.send(index);
  };
}
