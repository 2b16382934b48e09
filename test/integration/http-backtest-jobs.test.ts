/**
 * Backtest jobs over HTTP (the console's backtest page): start, progress as server-sent
 * events, the paged per-claim table, the report downloads, and the refusals.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryDatabase, sqliteDatabase } from '../support/databases';
import { httpHelpers } from '../support/http-requests';
import { policyYaml } from '../support/policy-factory';
import { createTestApp, type TestApp } from '../support/test-app';

const candidate = () => policyYaml({ version: '2026.2-candidate', deadlines: { partnerResponse: { businessDays: 10 } } });

describe.each([memoryDatabase, sqliteDatabase])('backtest jobs ($name)', (database) => {
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  beforeEach(async () => {
    t = await createTestApp({ database, limits: { backtestMaxClaims: 10 } });
    h = httpHelpers(t);
  });
  afterEach(async () => {
    await t.close();
  });

  /** One claim left without an answer to a request for information (rejected after 5 business days; after 10, not yet by the 12th), one approved. */
  async function history() {
    const unanswered = await h.submittedClaim();
    await h.actOk(unanswered, 'startReview', 'reviewer');
    await h.actOk(unanswered, 'requestInfo', 'reviewer', { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page' });
    const approved = await h.submittedClaim();
    await h.actOk(approved, 'startReview', 'reviewer');
    await h.actOk(approved, 'approve', 'reviewer', {});
    await t.advance('2026-03-12T17:00:00Z');
    return { unanswered, approved };
  }

  const sse = (path: string, auth: string) =>
    h
      .api()
      .get(path)
      .set('Authorization', auth)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });

  it('runs in the background: progress as server-sent events up to done, the totals by status and reason, latency, a paged table and the downloads', async () => {
    const { unanswered, approved } = await history();
    const auth = await h.auth('programManager');
    const started = await h.api().post('/v1/backtest/jobs').set('Authorization', auth).send({ policy: candidate() });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.headers.location).toBe(`/v1/backtest/jobs/${started.body.id}`);
    expect(started.body).toMatchObject({ status: 'running', total: 2, candidate: { version: '2026.2-candidate' } });

    const events = await sse(started.body.links.events, auth);
    expect(events.status).toBe(200);
    expect(events.headers['content-type']).toMatch(/^text\/event-stream/);
    const stream = String(events.body);
    const done = /event: done\ndata: (.*)\n\n$/.exec(stream);
    expect(done, stream).not.toBeNull();
    const job = JSON.parse(done![1]!);
    expect(job).toMatchObject({ status: 'done', done: 2, total: 2, totals: { claims: 2, changed: 1, unchanged: 1 } });
    expect(job.totals.byStatus).toEqual(
      expect.arrayContaining([
        { before: 'rejected', after: 'partnerActionRequired', claims: 1 },
        { before: 'approved.sentForAssessment', after: 'approved.sentForAssessment', claims: 1 },
      ]),
    );
    expect(job.totals.byReason).toEqual([{ before: 'noPartnerResponse', after: null, claims: 1 }]);
    expect(job.latency).toMatchObject({ claims: 2, baseline: { medianMs: expect.any(Number) }, candidate: { p90Ms: expect.any(Number) } });
    if (stream.includes('event: progress')) expect(stream).toMatch(/^event: progress\ndata: \{"done":\d+,"total":2\}/);

    const page = await h.api().get(`/v1/backtest/jobs/${job.id}/claims?limit=1`).set('Authorization', auth);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ offset: 0, limit: 1, more: true });
    expect(page.body.items).toHaveLength(1);
    const changedOnly = await h.api().get(`/v1/backtest/jobs/${job.id}/claims?changed=true`).set('Authorization', auth);
    expect(changedOnly.body.items.map((c: { claimId: string }) => c.claimId)).toEqual([unanswered]);

    const csv = await h.api().get(`/v1/backtest/jobs/${job.id}/report?format=csv`).set('Authorization', auth);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="backtest-2026.2-candidate.csv"');
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^claimId,changed,/);
    expect(lines.find((line) => line.startsWith(`${approved},`))).toMatch(new RegExp(`^${approved},false,`));
    const json = await h.api().get(`/v1/backtest/jobs/${job.id}/report?format=json`).set('Authorization', auth).buffer(true);
    expect(JSON.parse(json.text)).toMatchObject({ totals: { claims: 2, changed: 1 }, claims: [expect.any(Object), expect.any(Object)] });

    // Once done, the events stream answers the end at once.
    expect(String((await sse(started.body.links.events, auth)).body)).toMatch(/^event: done\n/);
  });

  it('refuses: a candidate that does not load (422 with its lines), both a text and a version (400 at $.version, never a 500), too many claims (422), an unknown job (404), partners (403)', async () => {
    const auth = await h.auth('programManager');
    const both = await h.api().post('/v1/backtest/jobs').set('Authorization', auth).send({ policy: candidate(), version: '2026.1' });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ code: 'invalidPayload' });
    expect(JSON.stringify(both.body)).toContain('$.version');
    const broken = await h.api().post('/v1/backtest/jobs').set('Authorization', auth).send({ policy: 'id: [' });
    expect(broken.status).toBe(422);
    expect(broken.body.code).toBe('invalidPolicy');
    for (let i = 0; i < 11; i++) await h.createClaim();
    const many = await h.api().post('/v1/backtest/jobs').set('Authorization', auth).send({ policy: candidate() });
    expect(many.status).toBe(422);
    expect(many.body).toMatchObject({ code: 'tooManyClaims', claims: 11, limit: 10 });
    const missing = await h.api().get('/v1/backtest/jobs/00000000-0000-4000-8000-000000000000').set('Authorization', auth);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('backtestJobNotFound');
    const partner = await h.api().post('/v1/backtest/jobs').set('Authorization', await h.auth('partner')).send({ policy: candidate() });
    expect(partner.status).toBe(403);
  });
});
