import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/auth/mint-token';
import { verifyChain } from '../../src/claims/history-chain';
import { replayHistory } from '../../src/backtest/replay';
import { loadConfig } from '../../src/config';
import { createDatabase } from '../../src/db/database';
import { createKnexClaimStore } from '../../src/db/knex-claim-store';
import { startService, type RunningService } from '../../src/server';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { BUNDLED_POLICY_PATH, compiledBundledPolicy } from '../support/bundled-policy';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { ACTORS, claimFields, claimIn } from '../support/factories';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SECRET = 'durability-test-secret-of-at-least-32-bytes';

/** The database of the test under way (PostgreSQL: a fresh schema; SQLite: the file under its data directory). */
let databaseEnv: { DATABASE_URL?: string } = {};

const running: RunningService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

function configFor(dataDir: string, extra: Record<string, string> = {}) {
  return loadConfig(
    { DATA_DIR: dataDir, PORT: '0', JWT_SECRET: SECRET, LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: '2000', ...databaseEnv, ...extra },
    { policyPath: BUNDLED_POLICY_PATH },
  );
}

async function start(dataDir: string, clock: { now(): Date }) {
  const service = await startService(configFor(dataDir), { clock, logger: pino({ level: 'silent' }), startScheduler: false });
  running.push(service);
  return service;
}

const firedEvents = async (service: RunningService['service'], id: string) =>
  (await service.history(id)).filter((e) => e.actor.role === 'system').map((e) => e.event);

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  beforeEach(async () => {
    databaseEnv = await db.serviceEnv();
  });

  describe('durable deadlines', () => {
    it('deadlines that fell due while the service was stopped fire once after the restart, and not again after another', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cpor-restart-'));
      const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
      const first = await start(dataDir, clock);
      const claim = await claimIn(first.service, 'submitted');
      await first.close();
      running.length = 0;

      clock.set(new Date('2026-03-20T00:00:00Z')); // reviewStart and decisionTarget fell due meanwhile
      const second = await start(dataDir, clock);
      await second.scheduler.tick();
      expect((await firedEvents(second.service, claim.id)).sort()).toEqual(['decisionTargetDue', 'reviewStartDue']);
      await second.close();
      running.length = 0;

      const third = await start(dataDir, clock);
      await third.scheduler.tick();
      expect((await firedEvents(third.service, claim.id)).sort()).toEqual(['decisionTargetDue', 'reviewStartDue']);
      expect((await third.service.getClaim(claim.id)).overdue.sort()).toEqual(['decisionTarget', 'reviewStart']);
    });

    it('two schedulers on one database fire each deadline once', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cpor-two-'));
      const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
      const a = await start(dataDir, clock);
      const b = await start(dataDir, clock);
      const claims = [];
      for (let i = 0; i < 20; i++) claims.push(await claimIn(i % 2 ? a.service : b.service, 'submitted'));
      clock.set(new Date('2026-03-20T00:00:00Z'));
      await Promise.all([a.scheduler.tick(), b.scheduler.tick(), a.scheduler.tick(), b.scheduler.tick()]);
      for (const claim of claims) {
        expect((await firedEvents(a.service, claim.id)).sort()).toEqual(['decisionTargetDue', 'reviewStartDue']);
      }
    });
  });

  describe('deadlines beside webhook delivery', () => {
    let receiver: Server | undefined;
    afterEach(async () => {
      receiver?.closeAllConnections();
      await new Promise((r) => receiver?.close(r) ?? r(undefined));
      receiver = undefined;
    });

    it('a webhook receiver that never answers does not delay deadlines: one fires within two scheduler intervals', async () => {
      // A receiver on 127.0.0.1 that takes every request and never answers (the dispatcher waits 5 s for each).
      let requests = 0;
      receiver = createServer(() => void (requests += 1));
      await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
      const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

      const dataDir = mkdtempSync(join(tmpdir(), 'cpor-stuck-hook-'));
      const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
      const intervalMs = 250;
      const config = configFor(dataDir, { WEBHOOK_URLS: hook, WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', SCHEDULER_INTERVAL_MS: String(intervalMs) });
      const service = await startService(config, { clock, logger: pino({ level: 'silent' }) });
      running.push(service);
      // Messages for the receiver: three claims with information requested (one outbox message each)…
      for (let i = 0; i < 3; i++) {
        const claim = await claimIn(service.service, 'submitted');
        await service.service.act(claim.id, 'startReview', ACTORS.reviewer, {});
        await service.service.act(claim.id, 'requestInfo', ACTORS.reviewer, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page' });
      }
      // …and a claim whose review has not started: reviewStart falls due after five business days.
      const waiting = await claimIn(service.service, 'submitted');
      const deadline = Date.now() + 10_000;
      while (requests === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(requests, 'the dispatcher is waiting on the receiver').toBeGreaterThan(0);

      clock.set(new Date('2026-03-12T00:00:00Z')); // reviewStart (five business days after 2026-03-02) is now due
      const movedAt = Date.now();
      while (!(await firedEvents(service.service, waiting.id)).includes('reviewStartDue') && Date.now() - movedAt < 8_000) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const lateMs = Date.now() - movedAt;
      expect(await firedEvents(service.service, waiting.id)).toContain('reviewStartDue');
      expect(lateMs).toBeLessThan(2 * intervalMs + 500); // before: 5 s per stuck message, one after another
    }, 30_000);
  });

  describe('crash safety', () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill('SIGKILL');
      child = undefined;
    });

    it('SIGKILL in the middle of a stream of writes loses no acknowledged write and leaves no half-applied transition', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cpor-kill-'));
      child = spawn(process.execPath, [join(ROOT, 'bin', 'cpor.mjs'), 'serve'], {
        env: { ...process.env, DATA_DIR: dataDir, PORT: '0', JWT_SECRET: SECRET, LOG_LEVEL: 'info', SCHEDULER_INTERVAL_MS: '50', ...databaseEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const url = await new Promise<string>((resolveUrl, reject) => {
        let buffer = '';
        child!.stdout!.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          const match = /"url":"(http:\/\/[^"]+)"/.exec(buffer);
          if (match) resolveUrl(match[1]!);
        });
        child!.once('exit', (code) => reject(new Error(`service exited with ${code}: ${buffer}`)));
      });
      const token = await mintToken({ secret: new TextEncoder().encode(SECRET), role: 'incentivesAdmin', partnerId: '4512345' });
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

      // Writers: each creates a claim, then edits it again and again with If-Match; every 2xx is acknowledged.
      const acknowledged = new Map<string, number>(); // claim id → highest acknowledged version
      let stop = false;
      const writer = async () => {
        try {
          const created = await fetch(`${url}/v1/claims`, { method: 'POST', headers, body: JSON.stringify(claimFields()) });
          if (created.status !== 201) return;
          const id = ((await created.json()) as { id: string }).id;
          let version = Number(created.headers.get('etag')!.replaceAll('"', ''));
          acknowledged.set(id, version);
          for (let i = 0; !stop && i < 10_000; i++) {
            const edited = await fetch(`${url}/v1/claims/${id}`, {
              method: 'PATCH',
              headers: { ...headers, 'if-match': `"${version}"` },
              body: JSON.stringify({ mpnId: String(4_500_000 + i) }),
            });
            if (edited.status !== 200) return;
            version = Number(edited.headers.get('etag')!.replaceAll('"', ''));
            acknowledged.set(id, version);
          }
        } catch {
          // the connection died with the process: that write was never acknowledged
        }
      };
      const writers = Array.from({ length: 8 }, writer);
      // Kill once the stream is well under way (a condition, not a fixed sleep: a loaded machine is slower).
      const acknowledgedEdits = () => [...acknowledged.values()].reduce((a, b) => a + b, 0);
      const deadline = Date.now() + 30_000;
      while ((acknowledged.size < 8 || acknowledgedEdits() <= 80) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await exited;
      // The kill landed in a real stream: several claims, many acknowledged edits each.
      expect(acknowledged.size).toBe(8);
      expect(acknowledgedEdits()).toBeGreaterThan(50);

      const knex = createDatabase({ dataDir, ...(databaseEnv.DATABASE_URL ? { databaseUrl: databaseEnv.DATABASE_URL } : {}) });
      try {
        const store = createKnexClaimStore(knex);
        const policy = await compiledBundledPolicy();
        for (const [id, version] of acknowledged) {
          const claim = await store.getClaim(id);
          expect(claim, `acknowledged claim ${id} is missing`).toBeDefined();
          expect(claim!.version).toBeGreaterThanOrEqual(version);
          const history = await store.listHistory(id);
          // The claim row and its history were written together: same length, same chain head.
          expect(verifyChain(history)).toMatchObject({ ok: true });
          expect(claim!.lastSeq).toBe(history.length);
          expect(claim!.lastHash).toBe(history.at(-1)!.hash);
          const replayed = await replayHistory(policy, history, new Date(claim!.updatedAt));
          expect(replayed.claim?.snapshot).toEqual(claim!.snapshot);
        }
      } finally {
        await knex.destroy();
      }
    }, 60_000);
  });
});
