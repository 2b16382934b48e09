import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { demoConfig, demoRefusals } from '../../src/demo/demo-mode';
import { startService, type RunningService } from '../../src/server';
import { BUNDLED_POLICY_DIR } from '../../src/simulate/policy-files';
import { documentedRequest } from '../support/documented-requests';
import { createTestApp } from '../support/test-app';

interface DeadlineItem { name: string; status: string; dueAt: string; paused: boolean; atRisk: boolean }
interface ClaimItem { id: string; status: string; substatus: string | null; overdue: string[]; deadlines: DeadlineItem[]; poe: Array<{ href: string | null }> }

const ROOT = resolve(import.meta.dirname, '..', '..');

/** `cpor serve --demo` with `env`: its exit code and stderr (it must refuse, so it exits by itself). */
function serveDemo(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'cpor-demo-refusal-')), PORT: '0', ...env };
  delete base.CPOR_POLICY;
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cpor.mjs'), 'serve', '--demo'], { cwd: ROOT, env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit({ code, stderr });
    });
  });
}

describe('cpor serve --demo refuses what would expose it', () => {
  it('refuses to start with DATABASE_URL (a shared database), saying so', async () => {
    const { code, stderr } = await serveDemo({ DATABASE_URL: 'postgres://cpor@127.0.0.1:1/cpor', HOST: '127.0.0.1' });
    expect(code).toBe(1);
    expect(stderr).toContain('DATABASE_URL is set');
  }, 90_000);

  it('refuses to start on a non-loopback host (HOST=0.0.0.0), saying so', async () => {
    const { code, stderr } = await serveDemo({ HOST: '0.0.0.0' });
    expect(code).toBe(1);
    expect(stderr).toContain('HOST=0.0.0.0 is not a loopback address');
  }, 90_000);

  it('accepts the loopback addresses', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) {
      expect(demoRefusals(loadConfig({ HOST: host }, { policyPath: BUNDLED_POLICY_DIR })), host).toEqual([]);
    }
    expect(demoRefusals(loadConfig({ HOST: '192.168.1.20' }, { policyPath: BUNDLED_POLICY_DIR }))).toHaveLength(1);
  });
});

describe('demo mode', () => {
  let running: RunningService;
  let discard: () => Promise<void>;
  let token: string;
  beforeAll(async () => {
    const base = loadConfig({ PORT: '0', JWT_SECRET: 'a-secret-the-demo-must-not-use-0123456789' }, { policyPath: BUNDLED_POLICY_DIR });
    const demo = await demoConfig(base);
    discard = demo.discard;
    running = await startService(demo.config, { demo: true, startScheduler: false, logger: pino({ level: 'silent' }) });
    const res = await documentedRequest(running.url).post('/v1/auth/dev-token').send({ role: 'reviewer' }).expect(201);
    token = res.body.token;
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    await discard?.();
  });

  const api = () => documentedRequest(running.url);
  const claims = async () => (await api().get('/v1/claims?limit=100').set('Authorization', `Bearer ${token}`).expect(200)).body.items as ClaimItem[];

  it('starts with development sign-in (its own secret, not JWT_SECRET) and says it is a demo', async () => {
    expect((await api().get('/v1/auth/config').expect(200)).body).toEqual({ devSignIn: true, demo: true, oidc: null });
  });

  it('has realistic claims in every status, with deadlines running, paused, at risk and overdue', async () => {
    const items = await claims();
    const states = new Set(items.map((c) => [c.status, c.substatus].filter(Boolean).join('.')));
    for (const state of ['editing', 'submitted', 'underReview', 'partnerActionRequired', 'approved.consentPending', 'approved.sentForAssessment', 'rejected', 'disputed']) {
      expect(states, state).toContain(state);
    }
    const open = items.flatMap((c) => c.deadlines).filter((d) => d.status === 'running' || d.status === 'paused');
    expect(open.some((d) => d.paused)).toBe(true);
    expect(open.some((d) => d.atRisk)).toBe(true);
    expect(items.some((c) => c.overdue.length > 0)).toBe(true);
    expect(items.some((c) => c.poe.some((p) => p.href !== null))).toBe(true);
  });

  it('moves its clock to the end of a consent window, and the claim goes to assessment', async () => {
    const pending = (await claims()).find((c) => c.substatus === 'consentPending')!;
    const window = pending.deadlines.find((d) => d.name === 'consentWindow' && d.status === 'running')!;
    const before = (await api().get('/v1/demo/clock').set('Authorization', `Bearer ${token}`).expect(200)).body.now;
    expect(Date.parse(before)).toBeLessThan(Date.parse(window.dueAt));
    const moved = await api().post('/v1/demo/clock').set('Authorization', `Bearer ${token}`).send({ to: window.dueAt }).expect(200);
    expect(moved.body.now).toBe(window.dueAt);
    expect(moved.body.fired).toBeGreaterThanOrEqual(1);
    const after = await api().get(`/v1/claims/${pending.id}`).set('Authorization', `Bearer ${token}`).expect(200);
    expect([after.body.status, after.body.substatus]).toEqual(['approved', 'sentForAssessment']);
  });

  it('moves to the next deadline and to the next business day, and never backwards', async () => {
    const next = await api().post('/v1/demo/clock').set('Authorization', `Bearer ${token}`).send({ advance: 'nextDeadline' }).expect(200);
    expect(next.body.fired).toBeGreaterThanOrEqual(1);
    const day = await api().post('/v1/demo/clock').set('Authorization', `Bearer ${token}`).send({ advance: 'nextBusinessDay' }).expect(200);
    const local = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', weekday: 'short', hour: 'numeric', hour12: false }).format(new Date(day.body.now));
    expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri),? 0?9$/);
    const back = await api().post('/v1/demo/clock').set('Authorization', `Bearer ${token}`).send({ to: '2026-01-05T00:00:00Z' }).expect(400);
    expect(back.body.errors[0].path).toBe('$.to');
    await api().post('/v1/demo/clock').set('Authorization', `Bearer ${token}`).send({ advance: 'nextDeadline', to: '2030-01-01T00:00:00Z' }).expect(400);
  });

  it('lets the people running the demo (reviewer and internal kinds) move the clock, and says so on GET', async () => {
    for (const role of ['reviewer', 'programManager']) {
      const bearer = `Bearer ${(await api().post('/v1/auth/dev-token').send({ role }).expect(201)).body.token as string}`;
      expect((await api().get('/v1/demo/clock').set('Authorization', bearer).expect(200)).body.canMove, role).toBe(true);
      await api().post('/v1/demo/clock').set('Authorization', bearer).send({ advance: 'nextBusinessDay' }).expect(200);
    }
  });

  it('refuses partners and customers with 403 forbiddenRole, leaving the clock where it was; they read it with canMove false', async () => {
    const callers = [{ role: 'incentivesAdmin', partnerId: '4512345' }, { role: 'customer', tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01' }];
    for (const caller of callers) {
      const bearer = `Bearer ${(await api().post('/v1/auth/dev-token').send(caller).expect(201)).body.token as string}`;
      const read = (await api().get('/v1/demo/clock').set('Authorization', bearer).expect(200)).body;
      expect(read.canMove, caller.role).toBe(false);
      const refused = await api().post('/v1/demo/clock').set('Authorization', bearer).send({ advance: 'nextBusinessDay' }).expect(403);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.body.code).toBe('forbiddenRole');
      expect(refused.body.detail).toContain('reviewer');
      const after = (await api().get('/v1/demo/clock').set('Authorization', bearer).expect(200)).body.now as string;
      expect(Date.parse(after) - Date.parse(read.now), 'the clock runs on, but did not jump a day').toBeLessThan(60_000);
    }
  });
});

describe('outside demo mode', () => {
  it('the demo clock is a 404 problem', async () => {
    const t = await createTestApp();
    try {
      const res = await documentedRequest(t.app).get('/v1/demo/clock').set('Authorization', await t.bearer({ role: 'reviewer' })).expect(404);
      expect(res.body.code).toBe('notInDemoMode');
      await documentedRequest(t.app).post('/v1/demo/clock').set('Authorization', await t.bearer({ role: 'reviewer' })).send({ advance: 'nextDeadline' }).expect(404);
    } finally {
      await t.close();
    }
  });
});
