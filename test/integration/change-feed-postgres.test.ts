import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createLocalChangeFeed, notifyingStore, type ChangeFeed, type ClaimChange } from '../../src/changes/change-feed';
import { createPostgresChangeFeed } from '../../src/changes/postgres-change-feed';
import { createClaimService } from '../../src/claims/claim-service';
import { createDatabase, migrateLatest } from '../../src/db/database';
import { createKnexClaimStore } from '../../src/db/knex-claim-store';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields } from '../support/factories';
import { startPostgres, type PostgresCluster } from '../support/postgres';
import { TEST_START } from '../support/test-app';
import { tmpdir } from 'node:os';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres({ database: 'cpor_changes' });
}, 120_000);
afterAll(() => cluster?.stop());

const logger = pino({ level: 'silent' });

/** Waits until `heard` holds a change matching `predicate`. */
async function heardOf(heard: ClaimChange[], predicate: (c: ClaimChange) => boolean, timeoutMs = 5_000): Promise<ClaimChange> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = heard.find(predicate);
    if (found) return found;
    if (Date.now() > until) throw new Error(`not heard within ${timeoutMs} ms: ${JSON.stringify(heard)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the change feed on PostgreSQL (LISTEN/NOTIFY on cpor_claim_changes)', () => {
  it('a change committed by one instance reaches the subscribers of another; a rolled-back one does not', async () => {
    const knex = createDatabase({ databaseUrl: cluster.url, dataDir: tmpdir() });
    await migrateLatest(knex);
    const feeds: ChangeFeed[] = [];
    try {
      const a = await createPostgresChangeFeed({ databaseUrl: cluster.url, logger });
      const b = await createPostgresChangeFeed({ databaseUrl: cluster.url, logger });
      feeds.push(a, b);
      const heardByA: ClaimChange[] = [];
      const heardByB: ClaimChange[] = [];
      a.subscribe({ change: (c) => heardByA.push(c), end: () => {} });
      b.subscribe({ change: (c) => heardByB.push(c), end: () => {} });

      const store = notifyingStore(createKnexClaimStore(knex), a);
      const service = createClaimService({ store, policy: await compiledBundledPolicy(), clock: { now: () => new Date(TEST_START) } });
      const { claim } = await service.create(ACTORS.partner, claimFields());
      const change = await heardOf(heardByB, (c) => c.id === claim.id);
      expect(change).toEqual({ id: claim.id, status: 'editing', substatus: null, version: 1, at: claim.updatedAt, owners: { partnerId: '4512345', tenantId: claim.snapshot.context.fields.customer.tenantId } });
      // The instance that wrote hears it once, through the database like the others.
      await heardOf(heardByA, (c) => c.id === claim.id);

      await expect(
        store.transaction(async (tx) => {
          await tx.updateClaim({ ...claim, version: 2, updatedAt: '2026-03-02T18:00:00.000Z' }, 1);
          throw new Error('failed after the write');
        }),
      ).rejects.toThrow('failed after the write');
      await service.act(claim.id, 'comment', ACTORS.partner, { text: 'hello' });
      await heardOf(heardByB, (c) => c.id === claim.id && c.version === 2);
      expect(heardByB.map((c) => [c.version, c.at])).toEqual([
        [1, claim.updatedAt],
        [2, TEST_START],
      ]);
      expect(heardByA.filter((c) => c.id === claim.id)).toHaveLength(2);
    } finally {
      for (const feed of feeds) await feed.close();
      await knex.destroy();
    }
  }, 60_000);

  it('ends every subscription when the feed closes (the service stops), like the local feed', async () => {
    for (const feed of [await createPostgresChangeFeed({ databaseUrl: cluster.url, logger }), createLocalChangeFeed()]) {
      let ended = false;
      feed.subscribe({ change: () => {}, end: () => (ended = true) });
      await feed.close();
      expect(ended).toBe(true);
    }
  });
});
