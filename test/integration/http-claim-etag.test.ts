/** A read's ETag covers what the answer shows: time passing without a new version changes it, so a cache never keeps a stale "time left". */
import { describe, expect, it } from 'vitest';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { type HttpHelpers, useHttpApp } from '../support/http-requests';
import type { TestApp } from '../support/test-app';

type Deadline = { name: string; hoursLeft: number; businessDaysLeft: number; atRisk: boolean; overdue: boolean };
const reviewStart = (body: { deadlines: Deadline[] }) => body.deadlines.find((d) => d.name === 'reviewStart')!;

describe.each(SERVICE_DATABASES)('conditional reads of a claim ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: HttpHelpers;
  useHttpApp({ database: db }, (app) => ({ t, h } = app));

  const read = async (id: string, caller: 'partner' | 'reviewer', ifNoneMatch?: string) => {
    let req = h.api().get(`/v1/claims/${id}`).set('Authorization', await h.auth(caller));
    if (ifNoneMatch !== undefined) req = req.set('If-None-Match', ifNoneMatch);
    return req;
  };

  it('answers 304 while nothing the claim shows has changed, for partners and reviewers alike', async () => {
    const id = await h.claimIn('submitted');
    for (const caller of ['partner', 'reviewer'] as const) {
      const first = await read(id, caller);
      expect(first.headers.etag).toMatch(/^"\d+-[A-Za-z0-9_-]+"$/);
      const again = await read(id, caller, first.headers.etag as string);
      expect([again.status, again.headers.etag]).toEqual([304, first.headers.etag]);
      expect((await read(id, caller, `W/${first.headers.etag as string}, "other"`)).status).toBe(304);
    }
  });

  it('answers 200 with the new time left, not 304, when the clock moved an hour and the version did not', async () => {
    const id = await h.claimIn('submitted');
    const before = await read(id, 'partner');
    t.clock.set(new Date(t.clock.now().getTime() + 3_600_000));
    const after = await read(id, 'partner', before.headers.etag as string);
    expect(after.status).toBe(200);
    expect(after.body.version).toBe(before.body.version);
    expect(reviewStart(after.body).hoursLeft).toBe(reviewStart(before.body).hoursLeft - 1);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect((await read(id, 'partner', after.headers.etag as string)).status).toBe(304);
  });

  it('answers 200 when the claim became at risk and then overdue as days passed', async () => {
    const id = await h.claimIn('submitted');
    const monday = await read(id, 'partner');
    expect(reviewStart(monday.body)).toMatchObject({ atRisk: false, overdue: false });
    t.clock.set(new Date('2026-03-06T17:00:00.000Z')); // Friday: reviewStart is due Monday 9 March
    const friday = await read(id, 'partner', monday.headers.etag as string);
    expect([friday.status, reviewStart(friday.body).atRisk]).toEqual([200, true]);
    t.clock.set(new Date('2026-03-10T08:00:00.000Z')); // past due, before the scheduler fired it
    const late = await read(id, 'partner', friday.headers.etag as string);
    expect([late.status, reviewStart(late.body).overdue]).toEqual([200, true]);
  });

  it("a read's ETag is accepted by If-Match (its version part), and refused with 412 once the claim changed", async () => {
    const id = await h.claimIn('submitted');
    const tag = (await read(id, 'reviewer')).headers.etag as string;
    t.clock.set(new Date(t.clock.now().getTime() + 3_600_000)); // time passing alone does not make a write stale
    const started = await h.api().post(`/v1/claims/${id}/actions/startReview`).set('Authorization', await h.auth('reviewer')).set('If-Match', tag).send({});
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const stale = await h.api().post(`/v1/claims/${id}/actions/startReview`).set('Authorization', await h.auth('reviewer')).set('If-Match', tag).send({});
    expect([stale.status, stale.body.code]).toEqual([412, 'staleVersion']);
  });
});
