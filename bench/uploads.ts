/**
 * Concurrent PoE uploads against a real `cpor serve` process: the server's resident memory
 * before and during the uploads, and how long /healthz takes meanwhile.
 *
 *   npx tsx bench/uploads.ts [--root DIR] [--uploads 30] [--mib 10] [--concurrent N]
 *
 * --root runs the service of another checkout (e.g. an extracted older commit, to compare);
 * --concurrent sets POE_MAX_CONCURRENT_UPLOADS (default: --uploads, so none is turned away).
 * Linux only (reads /proc/<pid>/status).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { mintToken } from '../src/auth/mint-token';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    uploads: { type: 'string', default: '30' },
    mib: { type: 'string', default: '10' },
    concurrent: { type: 'string' },
  },
});
const UPLOADS = Number(values.uploads);
const FILE_BYTES = Number(values.mib) * 1024 * 1024;
const SECRET = randomBytes(32).toString('hex');
const PARTNER = { role: 'incentivesAdmin', partnerId: '4512345' };

const freePort = () =>
  new Promise<number>((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** GET /healthz one after another until told to stop; posts [start, latency] pairs (ms, performance.timeOrigin of the worker). */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true;
parentPort.once('message', () => (running = false));
(async () => {
  const latencies = [];
  while (running) {
    const started = performance.now();
    await fetch(workerData).then((r) => r.arrayBuffer());
    latencies.push([started, performance.now() - started]);
    await new Promise((r) => setTimeout(r, 10));
  }
  parentPort.postMessage(latencies);
})();
`;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-uploads-'));
  const child = spawn(process.execPath, [join(values.root, 'bin/cpor.mjs'), 'serve'], {
    cwd: values.root,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      POE_MAX_CONCURRENT_UPLOADS: values.concurrent ?? String(UPLOADS),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error('the service did not start');
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const token = `Bearer ${await mintToken({ secret: new TextEncoder().encode(SECRET), ...PARTNER })}`;
    const claimIds: string[] = [];
    for (let i = 0; i < UPLOADS; i++) {
      const res = await fetch(`${base}/v1/claims`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({
          mpnId: '4512345',
          activity: 'preSales',
          customer: { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01', domain: 'contoso.com', name: 'Contoso' },
          products: [{ line: 'microsoft365', workload: 'teams' }],
          customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
          partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
        }),
      });
      if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
      claimIds.push(((await res.json()) as { id: string }).id);
    }

    // Warm up, then the baseline: memory and /healthz with nothing else going on.
    const healthz = async () => {
      const started = performance.now();
      await fetch(`${base}/healthz`).then((r) => r.arrayBuffer());
      return performance.now() - started;
    };
    for (let i = 0; i < 20; i++) await healthz();
    const idleLatencies: number[] = [];
    for (let i = 0; i < 40; i++) idleLatencies.push(await healthz());
    const rssBefore = rssMiB(child.pid!);

    const boundary = 'benchBoundary';
    const filler = Buffer.alloc(FILE_BYTES - 64, 0x20);
    const upload = (claimId: string, i: number) =>
      new Promise<number>((done, fail) => {
        const head = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="customerSigned"\r\n\r\ntrue\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="signedOn"\r\n\r\n2026-02-20\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="products"\r\n\r\nteams\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="describesWork"\r\n\r\ntrue\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="sow-${i}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
        );
        const unique = Buffer.from(`%PDF-1.7\n% upload ${i} ${randomBytes(8).toString('hex')}`.padEnd(64, ' '));
        const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
        const req = request(`${base}/v1/claims/${claimId}/poe`, {
          method: 'POST',
          headers: {
            authorization: token,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': head.length + unique.length + filler.length + tail.length,
          },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        });
        req.on('error', fail);
        req.write(head);
        req.write(unique);
        req.write(filler);
        req.end(tail);
      });

    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(child.pid!))), 20);
    // The probe runs on a thread of its own, so the uploads this thread pumps do not delay it.
    const prober = new Worker(PROBE, { eval: true, workerData: `${base}/healthz` });
    const probes = new Promise<Array<[number, number]>>((done) => prober.once('message', done));
    const started = performance.now();
    const statuses = await Promise.all(claimIds.map((id, i) => upload(id, i)));
    const seconds = (performance.now() - started) / 1000;
    prober.postMessage('stop');
    const probed = await probes;
    const latencies = probed.map(([, latency]) => latency);
    const slowest = [...probed].sort((a, b) => b[1] - a[1]).slice(0, 3);
    await prober.terminate();
    clearInterval(sampler);
    const rssAfter = rssMiB(child.pid!);

    const counts: Record<number, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    console.log(`service: ${values.root}`);
    console.log(`${UPLOADS} concurrent uploads of ${values.mib} MiB in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(counts)}`);
    console.log(`server RSS: ${rssBefore.toFixed(0)} MiB before, peak ${rssPeak.toFixed(0)} MiB (+${(rssPeak - rssBefore).toFixed(0)} MiB), ${rssAfter.toFixed(0)} MiB after`);
    console.log(`/healthz idle:   p50 ${ms(percentile(idleLatencies, 50))}, p99 ${ms(percentile(idleLatencies, 99))}, max ${ms(Math.max(...idleLatencies))}`);
    console.log(
      `/healthz during: p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))} (${latencies.length} probes)`,
    );
    const firstProbe = probed[0]?.[0] ?? 0;
    console.log(`slowest probes: ${slowest.map(([at, latency]) => `${ms(latency)} at +${((at - firstProbe) / 1000).toFixed(1)} s`).join(', ')}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
