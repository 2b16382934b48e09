/**
 * The decision log cannot be flooded out of view: evaluations are filed with their
 * author and the service's time, apart from transitions by kind, and the log pages
 * (oldest first, keyset cursor, a `next` link) to its end on every store.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/claims/decision-digest';
import { flushDecisionLog } from '../../src/http/app';
import { claimFields } from '../support/factories';
import { DATABASES, sqliteDatabase, useDatabase, type StoreSetup } from '../support/databases';
import { CALLERS, httpHelpers, type HttpHelpers, useHttpApp, type CallerName } from '../support/http-requests';
import { createTestApp, type TestApp } from '../support/test-app';

const FLOOD = 1_200;
const BACKDATED = '2020-01-01T00:00:00.000Z';

interface Decision {
  kind: string;
  at: string;
  author: { role: string; id: string | null } | null;
  result: { event?: string; asOf?: string };
}

// One flood through HTTP (on SQLite, the default store), read by every test below; the
// stores' paging itself is checked on every database further down.
describe('the decision log under a flood of 1,200 evaluations through POST /v1/evaluate', () => {
  const db = sqliteDatabase;
  useDatabase(db);
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  let id: string;
  beforeAll(async () => {
    t = await createTestApp({ database: db });
    h = httpHelpers(t);
    id = await flooded();
  }, 120_000);
  afterAll(async () => {
    await flushDecisionLog(t.app);
    await t.close();
  });

  const get = async (path: string, caller: CallerName = 'reviewer') => h.api().get(path).set('Authorization', await h.auth(caller));

  /** A claim submitted, flooded with back-dated evaluations by its partner, then reviewed and approved. */
  async function flooded() {
    const claimId = await h.submittedClaim();
    const auth = await h.auth('partner');
    const body = { claim: { id: claimId, fields: claimFields(), status: 'submitted', poe: [] }, asOf: BACKDATED };
    for (let sent = 0; sent < FLOOD; sent += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => h.api().post('/v1/evaluate').set('Authorization', auth).send(body)));
      for (const res of answers) expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    await flushDecisionLog(t.app);
    await h.actOk(claimId, 'startReview', 'reviewer');
    await h.actOk(claimId, 'approve', 'reviewer', {});
    return claimId;
  }

  it('pages through 1,200 evaluations to every transition, oldest first, following next links to a last page', async () => {
    const seen: Decision[] = [];
    let path: string | null = `/v1/claims/${id}/decisions?limit=500`;
    let pages = 0;
    while (path !== null) {
      const res = await get(path);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...(res.body.items as Decision[]));
      expect(res.body.next === null).toBe(res.body.nextCursor === null);
      path = res.body.next as string | null;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(FLOOD + 5);
    expect(seen.filter((d) => d.kind === 'transition').map((d) => d.result.event)).toEqual(['create', 'uploadPoe', 'submit', 'startReview', 'approve']);
    expect(seen.slice(-2).map((d) => d.result.event)).toEqual(['startReview', 'approve']);
  });

  it('kind=transition shows every transition on one page however many evaluations were filed', async () => {
    const res = await get(`/v1/claims/${id}/decisions?kind=transition`, 'customer');
    expect(res.status).toBe(200);
    expect(res.body.items.map((d: Decision) => d.result.event)).toEqual(['create', 'uploadPoe', 'submit', 'startReview', 'approve']);
    expect(res.body).toMatchObject({ nextCursor: null, next: null });
    expect(res.body.items.at(-1).author).toEqual({ role: 'reviewer', id: CALLERS.reviewer.id });
  });

  it("an evaluation is filed with its caller as author at the service's time, its back-dated asOf kept in the result", async () => {
    const res = await get(`/v1/claims/${id}/decisions?kind=evaluation&limit=2`);
    expect(res.body.items).toHaveLength(2);
    for (const record of res.body.items as Decision[]) {
      expect(record.author).toEqual({ role: CALLERS.partner.role, id: CALLERS.partner.id });
      expect(record.at).toBe(t.clock.now().toISOString());
      expect(record.result.asOf).toBe(BACKDATED);
    }
    expect(res.body.next).toBe(`/v1/claims/${id}/decisions?limit=2&cursor=${res.body.nextCursor}&kind=evaluation`);
  });
});

describe.each(DATABASES)('paging a decision log of 1,200 evaluations and 3 transitions in the store ($name)', (db) => {
  useDatabase(db);
  let ctx: StoreSetup;
  beforeEach(async () => {
    ctx = await db.setup();
  });
  afterEach(() => ctx.teardown());

  const record = (n: number, kind: DecisionRecord['kind']): DecisionRecord => ({
    claimId: 'claim-1',
    at: new Date(Date.UTC(2026, 2, 2, 17, 0, n)).toISOString(),
    kind,
    author: { role: kind === 'transition' ? 'reviewer' : 'incentivesAdmin', id: `caller-${n}` },
    policy: { id: 'cpor', version: '2026.1' },
    inputDigest: n.toString(16).padStart(64, '0'),
    result: { n },
    rulesFired: [],
  });

  it('pages oldest first to the end with the cursor of each page, and pages transitions alone by kind', async () => {
    const written = [record(0, 'transition'), ...Array.from({ length: FLOOD }, (_, i) => record(i + 1, 'evaluation')), record(FLOOD + 1, 'transition'), record(FLOOD + 2, 'transition')];
    await ctx.store.transaction((tx) => tx.appendDecisions(written.slice(0, 600)));
    for (const one of written.slice(600, 610)) await ctx.store.recordDecision(one);
    await ctx.store.transaction((tx) => tx.appendDecisions(written.slice(610)));
    await ctx.store.recordDecision({ ...record(9999, 'transition'), claimId: 'claim-2' });

    const read: DecisionRecord[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await ctx.store.pageDecisions('claim-1', { limit: 500, ...(after !== undefined ? { after } : {}) });
      read.push(...page.map((d) => d.record));
      if (page.length < 500) break;
      after = page.at(-1)!.seq;
    }
    expect(read).toEqual(written);

    const transitions = await ctx.store.pageDecisions('claim-1', { kind: 'transition', limit: 2 });
    expect(transitions.map((d) => d.record)).toEqual([written[0], written[FLOOD + 1]]);
    const rest = await ctx.store.pageDecisions('claim-1', { kind: 'transition', limit: 2, after: transitions[1]!.seq });
    expect(rest.map((d) => d.record)).toEqual([written[FLOOD + 2]]);
  });
});

describe('the decisions list refuses what is not a page of it', () => {
  let h: HttpHelpers;
  useHttpApp({}, (app) => ({ h } = app));

  it.each([
    ['cursor=abc', '$.cursor'],
    ['cursor=0', '$.cursor'],
    ['kind=refusal', '$.kind'],
    ['limit=1001', '$.limit'],
  ])('%s is a 400 at %s', async (query, path) => {
    const { id } = await h.createClaim();
    const res = await h.api().get(`/v1/claims/${id}/decisions?${query}`).set('Authorization', await h.auth('reviewer'));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});
