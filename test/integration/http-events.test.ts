import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalChangeFeed, notifyingStore, type ClaimChange } from '../../src/changes/change-feed';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { documentedRequest } from '../support/documented-requests';
import { listen, openEventStream, type EventStream } from '../support/event-stream';
import { ACTORS, claimFields, dueAtOf, OTHER_PARTNER_ID } from '../support/factories';
import { httpHelpers, type HttpHelpers } from '../support/http-requests';
import { createTestApp, type TestApp } from '../support/test-app';

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: HttpHelpers;
  let server: Awaited<ReturnType<typeof listen>>;
  const streams: EventStream[] = [];

  beforeEach(async () => {
    t = await createTestApp({ database: db, changes: createLocalChangeFeed(), eventsHeartbeatMs: 100 });
    h = httpHelpers(t);
    server = await listen(t.app);
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await server.close();
    await t.close();
  });

  async function open(caller: Parameters<HttpHelpers['auth']>[0], query = ''): Promise<EventStream> {
    const stream = await openEventStream(`${server.url}/v1/events${query}`, await h.auth(caller));
    streams.push(stream);
    await stream.waitForText(/: connected/);
    return stream;
  }

  describe('GET /v1/events', () => {
    it("streams each committed change to a partner's own claims as `event: claim`, and nothing of another partner's", async () => {
      const mine = await open('partner');
      const theirs = await open('otherPartner');
      expect(mine.status).toBe(200);
      expect(mine.contentType).toContain('text/event-stream');

      const id = await h.claimIn('submitted');
      await mine.waitFor((e) => e.data.id === id && e.data.status === 'submitted');
      expect(mine.events().filter((e) => e.data.id === id).map((e) => e.data.version)).toEqual([1, 2, 3]);
      expect(mine.events()[0]).toEqual({ event: 'claim', data: { id, status: 'editing', substatus: null, version: 1, at: expect.any(String) } });

      // Delivered in commit order: once the other partner hears of its own claim, it would have heard of the first.
      const { id: own } = await h.createClaim({ partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID }, 'otherPartner');
      await theirs.waitFor((e) => e.data.id === own);
      expect(theirs.events().map((e) => e.data.id)).toEqual([own]);
    });

    it("a reviewer hears of every claim; ?claim= narrows to one; a deadline that fires is a change too", async () => {
      const all = await open('reviewer');
      const id = await h.claimIn('approved.consentPending');
      const one = await open('reviewer', `?claim=${id}`);
      await h.createClaim();
      const claim = (await h.getClaim(id)).body;
      await t.advance(dueAtOf(claim, 'consentWindow'));
      const sent = await one.waitFor((e) => e.data.substatus === 'sentForAssessment');
      expect(sent.data).toMatchObject({ id, status: 'approved' });
      expect(one.events().every((e) => e.data.id === id)).toBe(true);
      await all.waitFor((e) => e.data.id === id && e.data.substatus === 'sentForAssessment');
      expect(new Set(all.events().map((e) => e.data.id)).size).toBe(2);
    });

    it('keeps the stream open with comment lines', async () => {
      const stream = await open('customer');
      await stream.waitForText(/: keep-alive\n\n/);
    });

    it('ends when the token that opened it expires, so an expired session hears of no more changes', async () => {
      const stream = await openEventStream(`${server.url}/v1/events`, `Bearer ${await t.token(ACTORS.reviewer, { expiresIn: '2s' })}`);
      streams.push(stream);
      await stream.waitForText(/: connected/);
      const outcome = await Promise.race([stream.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still open'), 10_000))]);
      expect(outcome).toBe('ended');
    });

    it('is refused without a token, and for a claim the caller may not see (404, as a read would be)', async () => {
      await documentedRequest(t.app).get('/v1/events').expect(401);
      const id = await h.claimIn('editing');
      const res = await documentedRequest(t.app).get(`/v1/events?claim=${id}`).set('Authorization', await h.auth('otherPartner')).expect(404);
      expect(res.body.code).toBe('claimNotFound');
    });
  });
});

// The store wrapper over the in-memory store: about publishing after commit, not about a database.
describe('notifyingStore', () => {
  it('publishes a change only once its transaction committed: never for one that rolled back', async () => {
    const feed = createLocalChangeFeed();
    const heard: ClaimChange[] = [];
    feed.subscribe({ change: (c) => heard.push(c), end: () => {} });
    const inner = createMemoryClaimStore();
    const store = notifyingStore(inner, feed);
    const t2 = await createTestApp({ changes: feed });
    try {
      // A claim made through an app whose store publishes: committed, heard.
      const { claim } = await t2.service.create(ACTORS.partner, claimFields());
      expect(heard.map((c) => [c.id, c.version])).toEqual([[claim.id, 1]]);
      // A transaction that wrote and then failed: rolled back, not heard.
      await store.transaction(async (tx) => tx.insertClaim({ ...claim, id: 'first' }));
      await expect(
        store.transaction(async (tx) => {
          await tx.updateClaim({ ...claim, id: 'first', version: 2 }, 1);
          throw new Error('something after the write failed');
        }),
      ).rejects.toThrow('something after the write failed');
      expect(heard.map((c) => [c.id, c.version])).toEqual([[claim.id, 1], ['first', 1]]);
      expect((await inner.getClaim('first'))?.version).toBe(1);
      // A refused event changes no claim: nothing is published.
      await expect(t2.service.act(claim.id, 'approve', ACTORS.partner, {})).rejects.toThrow();
      expect(heard).toHaveLength(2);
    } finally {
      await t2.close();
    }
  });
});
