/**
 * Two service instances (two connection pools on one database) share due work instead of
 * fighting over it: outbox messages are leased, so each is delivered once; a scheduler takes
 * the next due claim nobody holds instead of waiting for another instance's lock.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimStore } from '../../src/claims/claim-store';
import type { OutboxMessage } from '../../src/claims/outbox-message';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createWebhookDispatcher } from '../../src/outbox/webhook-dispatcher';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { DATABASES, useDatabase, type StoreSetup } from '../support/databases';
import { claimFields, claimIn, partnerOf } from '../support/factories';
import { seedClaims } from '../support/seed-claims';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NOW = '2026-03-10T16:00:00.000Z';
const CLAIMS = 40;

let policy: CompiledPolicy;
let server: Server;
let url: string;
let received: string[];

beforeAll(async () => {
  policy = await compiledBundledPolicy();
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['webhook-id']));
      // A receiver that takes a moment, as real ones do: the instances' runs overlap.
      setTimeout(() => res.writeHead(204).end(), 3);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Two messages for each of `count` claims (seed-0000000 …), due at NOW. */
function messages(count: number): OutboxMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const claimId = `seed-${String(i).padStart(7, '0')}`;
    return [1, 2].map((seq) => ({
      id: `${claimId}:${seq}`,
      claimId,
      type: 'claim.rejected' as const,
      at: `2026-03-10T15:00:0${seq}.000Z`,
      audience: 'partner' as const,
      payload: { claimId, seq },
    }));
  }).flat();
}

const clockAt = (instant: string) => {
  let now = Date.parse(instant);
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
};

describe.each(DATABASES)('$name: work shared between two instances', (db) => {
  useDatabase(db);
  let ctx: StoreSetup;
  beforeEach(async () => {
    ctx = await db.setup();
    received = [];
  });
  afterEach(() => ctx.teardown());

  async function enqueue(store: ClaimStore, count: number) {
    if (ctx.knex) await seedClaims(ctx.knex, policy, count); // messages name stored claims
    const all = messages(count);
    await store.transaction((tx) => tx.appendOutbox(all));
    return all;
  }

  it('two dispatchers delivering at once POST each message once, a claim’s messages in order', async () => {
    const all = await enqueue(ctx.store, CLAIMS);
    const second = await ctx.connectAgain();
    try {
      const dispatchers = [ctx.store, second.store].map((store) =>
        createWebhookDispatcher({ store, urls: [url], secret: SECRET, clock: clockAt(NOW), batchSize: 10 }),
      );
      for (let round = 0; round < 20 && received.length < all.length; round++) {
        await Promise.all(dispatchers.map((d) => d.deliverDue()));
      }
      expect([...received].sort()).toEqual(all.map((m) => m.id).sort());
      for (const message of all.filter((m) => m.id.endsWith(':2'))) {
        expect(received.indexOf(message.id)).toBeGreaterThan(received.indexOf(message.id.replace(/:2$/, ':1')));
      }
      expect(await ctx.store.listOutbox({ status: 'delivered', limit: 1_000 })).toHaveLength(all.length);
    } finally {
      await second.close();
    }
  });

  it('leaseOutbox: messages taken at once by two instances are disjoint; a leased claim is skipped whole until its outcome is recorded or the lease lapses', async () => {
    await enqueue(ctx.store, 6);
    const second = await ctx.connectAgain();
    try {
      const until = '2026-03-10T16:01:00.000Z';
      const [a, b] = await Promise.all([ctx.store.leaseOutbox(NOW, until, 4), second.store.leaseOutbox(NOW, until, 4)]);
      const claimsOf = (taken: Array<{ claimId: string }>) => new Set(taken.map((m) => m.claimId));
      expect([...claimsOf(a)].filter((claim) => claimsOf(b).has(claim))).toEqual([]);
      expect(a.length + b.length).toBe(8);
      // Every claim has a message leased now: nothing more to take until an outcome or a lapse.
      expect(await ctx.store.leaseOutbox(NOW, until, 100)).toEqual([]);
      const first = a.find((m) => m.id.endsWith(':1') && !a.some((n) => n.id === m.id.replace(/:1$/, ':2')))!;
      expect(first).toBeDefined();
      await ctx.store.updateOutbox(first.id, { status: 'delivered', attempts: 1, nextAttemptAt: null, lastError: null, deliveredAt: NOW });
      // Recording the outcome ends that message's lease: its claim's next message may go now.
      expect((await second.store.leaseOutbox(NOW, until, 100)).map((m) => m.id)).toEqual([first.id.replace(/:1$/, ':2')]);
      const lapsed = await second.store.leaseOutbox(until, '2026-03-10T16:02:00.000Z', 100);
      expect(lapsed.map((m) => m.id).sort()).toEqual(messages(6).map((m) => m.id).filter((id) => id !== first.id).sort());
    } finally {
      await second.close();
    }
  });

  it('releaseOutbox gives back messages of a lease still held; they are taken again at once', async () => {
    await enqueue(ctx.store, 2);
    const until = '2026-03-10T16:01:00.000Z';
    const taken = await ctx.store.leaseOutbox(NOW, until, 100);
    expect(taken).toHaveLength(4);
    await ctx.store.releaseOutbox(taken.map((m) => m.id), '2026-03-10T16:00:30.000Z'); // not this lease: nothing given back
    expect(await ctx.store.leaseOutbox(NOW, until, 100)).toEqual([]);
    await ctx.store.releaseOutbox(taken.map((m) => m.id), until);
    expect((await ctx.store.leaseOutbox(NOW, until, 100)).map((m) => m.id)).toEqual(taken.map((m) => m.id));
  });

  it('a dispatcher starts no attempt its lease would not outlast, and gives those messages back', async () => {
    await enqueue(ctx.store, 3);
    const clock = clockAt(NOW);
    let posts = 0;
    const slow = createWebhookDispatcher({
      store: ctx.store,
      urls: [url],
      secret: SECRET,
      clock,
      concurrency: 1,
      timeoutMs: 1_000,
      leaseMs: 3_000,
      // Each POST takes its whole timeout: an attempt needs 2 s of lease (timeout and recording), so two fit.
      fetch: async (input, init) => {
        posts++;
        clock.advance(1_000);
        return fetch(input, init);
      },
    });
    expect(await slow.deliverDue()).toEqual({ delivered: 2, failed: 0, retried: 0 });
    expect(posts).toBe(2);
    const pending = await ctx.store.leaseOutbox(clock.now().toISOString(), '2026-03-10T17:00:00.000Z', 100);
    expect(pending.map((m) => m.id).sort()).toEqual(['seed-0000001:1', 'seed-0000001:2', 'seed-0000002:1', 'seed-0000002:2']);
    expect(received).toEqual(['seed-0000000:1', 'seed-0000000:2']);
  });

  describe.runIf(db.name === 'postgres')('deadlines', () => {
    it('a scheduler takes the next due claim nobody holds instead of waiting for the claim another instance holds', async () => {
      const clock = createVirtualClock(new Date('2026-03-02T17:00:00.000Z'));
      const service = createClaimService({ store: ctx.store, policy, clock, ids: createSequentialIds() });
      const claims = [];
      for (let i = 0; i < 3; i++) claims.push(await claimIn(service, 'submitted', { fields: claimFields(), actors: { partner: partnerOf() } }));
      clock.set(new Date('2026-03-20T00:00:00.000Z'));
      const second = await ctx.connectAgain();
      const held = await second.knex!.transaction();
      try {
        // Another instance is in the middle of the first claim's transaction.
        await held('claims').where({ id: claims[0]!.id }).forUpdate().first();
        const fired = await Promise.race([
          service.fireDue(),
          new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5_000)),
        ]);
        expect(fired).not.toBe('waited');
        expect(new Set((fired as Array<{ claimId: string }>).map((e) => e.claimId))).toEqual(new Set([claims[1]!.id, claims[2]!.id]));
        expect((await ctx.store.getClaim(claims[0]!.id))!.version).toBe(claims[0]!.version);
      } finally {
        await held.rollback();
        await second.close();
      }
      const rest = await service.fireDue();
      expect(rest.map((e) => [e.claimId, e.event])).toEqual([
        [claims[0]!.id, 'reviewStartDue'],
        [claims[0]!.id, 'decisionTargetDue'],
      ]);
    });
  });
});
