/**
 * Idempotency keys through crashes, in one process on SQLite and PostgreSQL: an attempt that
 * dies leaves its key as a crash would (claimed, or answered in the change's transaction and
 * never sent), and the retry gets the committed answer, or runs once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IdempotencyStore } from '../../src/idempotency/idempotency-store';
import { postgresDatabase, sqliteDatabase, useDatabase } from '../support/databases';
import { claimFields } from '../support/factories';
import { httpHelpers } from '../support/http-requests';
import { createTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

describe.each([sqliteDatabase, postgresDatabase])('idempotency keys through crashes ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  const start = async (options: TestAppOptions = {}) => {
    t = await createTestApp({ database: db, ...options });
    h = httpHelpers(t);
  };
  afterEach(() => t.close());

  const later = (seconds: number) => t.clock.set(new Date(t.clock.now().getTime() + seconds * 1000));
  const claimsNamed = async (name: string) =>
    (await t.store.listClaims({ limit: 100 })).filter((c) => c.snapshot.context.fields.name === name).map((c) => c.id);

  it('an answer stored with the change replays though the attempt died before recording it (no 409 for the TTL)', async () => {
    // The attempt "dies" after its commit: whatever it would do after the change (complete, abandon) never happens.
    const dieAfterCommit = (store: IdempotencyStore): IdempotencyStore => ({
      begin: (...args) => store.begin(...args),
      complete: async () => undefined,
      abandon: async () => undefined,
      purge: (...args) => store.purge(...args),
    });
    await start({ wrapIdempotency: dieAfterCommit });
    const partner = await h.auth('partner');
    const send = () => h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'crash-after-commit').send(claimFields({ name: 'after commit' }));
    const first = await send();
    expect(first.status).toBe(201);
    const retry = await send();
    expect([retry.status, retry.headers['idempotency-replayed'], retry.body.id, retry.headers.etag, retry.headers.location]).toEqual([
      201, 'true', first.body.id, first.headers.etag, first.headers.location,
    ]);
    expect(retry.body).toEqual(first.body);
    expect(await claimsNamed('after commit')).toEqual([first.body.id]);
  });

  it('a key whose attempt died before committing is 409 with Retry-After until its lease lapses; then the retry runs once, and the late attempt cannot commit', async () => {
    let release!: () => void;
    let claimed!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const firstClaimed = new Promise<void>((resolve) => (claimed = resolve));
    let held = false;
    // The first attempt claims the key and then stalls (as a process that froze or lost its database would).
    const stallFirst = (store: IdempotencyStore): IdempotencyStore => ({
      async begin(...args) {
        const result = await store.begin(...args);
        if (result.state === 'new' && !held) {
          held = true;
          claimed();
          await gate;
        }
        return result;
      },
      complete: (...args) => store.complete(...args),
      abandon: (...args) => store.abandon(...args),
      purge: (...args) => store.purge(...args),
    });
    await start({ wrapIdempotency: stallFirst });
    const partner = await h.auth('partner');
    const send = () => h.api().post('/v1/claims').set('Authorization', partner).set('Idempotency-Key', 'crash-before-commit').send(claimFields({ name: 'before commit' }));
    const first = send().then((res) => res);
    await firstClaimed;

    const early = await send();
    expect([early.status, early.body.code, early.headers['retry-after']]).toEqual([409, 'idempotencyKeyInFlight', '30']);
    later(31);
    const retry = await send();
    expect([retry.status, retry.headers['idempotency-replayed']]).toEqual([201, undefined]);

    release();
    const late = await first;
    expect([late.status, late.body.code]).toEqual([409, 'idempotencyKeyInFlight']);
    expect(await claimsNamed('before commit')).toEqual([retry.body.id]);
    const replayed = await send();
    expect([replayed.status, replayed.headers['idempotency-replayed'], replayed.body.id]).toEqual([201, 'true', retry.body.id]);
  });
});
