/**
 * The dashboard on the API's origin: index.html for the app's client routes (to browsers), its
 * hashed assets cached for good, a page CSP with nothing inline or remote, and the API's own
 * answers untouched (unknown API paths and non-browser requests stay problem+json 404s).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticApp } from '../../src/http/static-app';
import { documentedRequest } from '../support/documented-requests';
import { createTestApp, type TestApp } from '../support/test-app';

const HTML = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8';

describe('the dashboard served by the app (a built dist/web)', () => {
  let dir: string;
  let app: express.Express;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cpor-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-ABC123.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-ABC123.js'), 'console.log(1)');
    app = express();
    app.use(staticApp({ logger: pino({ level: 'silent' }), dir, connectOrigins: ['https://login.example.com'] }));
    app.use((_req, res) => void res.status(404).json({ fallthrough: true }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['/', '/claims', '/claims/abc-123', '/claims/abc-123/history', '/queues', '/signin'])(
    'answers index.html with the page CSP for the client route %s',
    async (path) => {
      const res = await request(app).get(path).set('Accept', HTML);
      expect(res.status).toBe(200);
      expect(res.type).toBe('text/html');
      expect(res.text).toContain('/assets/app-ABC123.js');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self' https://login.example.com");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|sandbox/);
    },
  );

  it('serves hashed assets with a year-long immutable cache', async () => {
    const res = await request(app).get('/assets/app-ABC123.js');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^(application|text)\/javascript$/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers the browser\'s own /favicon.ico request with an SVG icon, not a 404', async () => {
    const res = await request(app).get('/favicon.ico').set('Accept', 'image/avif,image/webp,image/*,*/*;q=0.8');
    expect(res.status).toBe(200);
    expect(res.type).toBe('image/svg+xml');
    expect(String(res.body)).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(res.headers['content-security-policy']).toBe("default-src 'none'");
  });

  it('passes API paths, missing assets and requests that do not ask for HTML on', async () => {
    for (const [path, accept] of [
      ['/v1/nothing', HTML],
      ['/openapi.json', HTML],
      ['/assets/missing.js', HTML],
      ['/claims', 'application/json'],
      ['/claims', '*/*'],
    ] as const) {
      const res = await request(app).get(path).set('Accept', accept);
      expect({ path, accept, body: res.body as unknown }).toEqual({ path, accept, body: { fallthrough: true } });
    }
  });
});

describe('the dashboard in the real app', () => {
  let test: TestApp;
  beforeAll(async () => {
    test = await createTestApp();
  });
  afterAll(() => test.close());

  it('keeps an unknown API path a problem+json 404 for browsers too', async () => {
    const res = await documentedRequest(test.app).get('/v1/dashboard').set('Accept', HTML);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('routeNotFound');
  });
});
