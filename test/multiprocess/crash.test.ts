/**
 * Two `cpor serve` processes on one PostgreSQL 15 cluster, through crashes: an instance
 * SIGKILLed under concurrent writes, PostgreSQL restarted in immediate mode (a crash), and a
 * retry after either with an Idempotency-Key in flight. No acknowledged write is lost, no
 * answer is a 500, and a retried key gets the committed answer or runs once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedRequest } from '../support/documented-requests';
import { ACTORS, claimFields } from '../support/factories';
import { startServiceProcesses, type ServiceProcesses } from '../support/service-processes';

const LEASE_SECONDS = 2;

describe('two instances on PostgreSQL through crashes', () => {
  let services: ServiceProcesses;
  let partner: string;
  let db: pg.Client;
  beforeAll(async () => {
    services = await startServiceProcesses({ count: 2, env: { IDEMPOTENCY_LEASE_SECONDS: String(LEASE_SECONDS) } });
    partner = await services.bearer(ACTORS.partner);
    db = await connect();
  }, 180_000);
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await services?.stop();
  });

  /** The test's own connection; PostgreSQL restarts end it (an error event, not a failure). */
  const connect = async () => {
    const client = new pg.Client({ connectionString: services.databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  /** Ids of the stored claims named `name`, read from the database itself. */
  const claimsNamed = async (name: string): Promise<string[]> => {
    for (;;) {
      try {
        const { rows } = await db.query<{ id: string }>(`select id from claims where data::json->'snapshot'->'context'->'fields'->>'name' = $1 order by id`, [name]);
        return rows.map((r) => r.id);
      } catch {
        // The test's own connection died with a PostgreSQL restart: connect again.
        await db.end().catch(() => undefined);
        db = await connect();
      }
    }
  };

  const create = (url: string, name: string, key?: string) => {
    const req = documentedRequest(url).post('/v1/claims').set('Authorization', partner).timeout(20_000);
    if (key) req.set('Idempotency-Key', key);
    return req.send(claimFields({ name }));
  };

  interface Load {
    acknowledged: Array<{ id: string; comment?: string }>;
    statuses: Map<number | string, number>;
    stop(): Promise<void>;
  }

  /** Writers through every instance: each creates a claim, then comments on it; records what was acknowledged. */
  function writeLoad(prefix: string, writersPerInstance = 3): Load {
    const acknowledged: Load['acknowledged'] = [];
    const statuses = new Map<number | string, number>();
    const count = (s: number | string) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    let running = true;
    const writer = async (url: string, w: number) => {
      for (let n = 0; running; n++) {
        try {
          const created = await create(url, `${prefix}-${w}-${n}`);
          count(created.status);
          if (created.status === 503) expect(Number(created.headers['retry-after'])).toBeGreaterThan(0);
          if (created.status !== 201) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          const entry: Load['acknowledged'][number] = { id: created.body.id as string };
          acknowledged.push(entry);
          const text = `note ${w}-${n}`;
          const commented = await documentedRequest(url).post(`/v1/claims/${entry.id}/comments`).set('Authorization', partner).timeout(20_000).send({ text });
          count(commented.status);
          if (commented.status === 201) entry.comment = text;
        } catch (error) {
          // No answer (the instance was killed, or the connection dropped): nothing acknowledged.
          count((error as { code?: string }).code ?? 'no answer');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const all = services.urls.flatMap((url, i) => Array.from({ length: writersPerInstance }, (_, w) => writer(url, i * 100 + w)));
    return {
      acknowledged,
      statuses,
      async stop() {
        running = false;
        await Promise.all(all);
      },
    };
  }

  /** Every acknowledged claim and comment is there, read through each instance. */
  async function expectAllKept(acknowledged: Load['acknowledged']) {
    expect(acknowledged.length).toBeGreaterThan(10);
    const reviewer = await services.bearer(ACTORS.reviewer);
    for (const url of services.urls) {
      const missing: string[] = [];
      for (const { id, comment } of acknowledged) {
        const claim = await documentedRequest(url).get(`/v1/claims/${id}`).set('Authorization', reviewer);
        if (claim.status !== 200) missing.push(`claim ${id}: ${claim.status}`);
        if (comment) {
          const comments = await documentedRequest(url).get(`/v1/claims/${id}/comments`).set('Authorization', reviewer);
          if (!JSON.stringify(comments.body).includes(comment)) missing.push(`comment on ${id}`);
        }
      }
      expect(missing, url).toEqual([]);
    }
  }

  it('SIGKILL of one instance under concurrent writes through both loses no acknowledged write', async () => {
    const load = writeLoad('kill');
    await new Promise((r) => setTimeout(r, 1_500));
    await services.kill(1);
    await new Promise((r) => setTimeout(r, 1_000));
    await services.restart(1);
    await new Promise((r) => setTimeout(r, 1_000));
    await load.stop();
    expect(load.statuses.get(500)).toBeUndefined();
    await expectAllKept(load.acknowledged);
  }, 180_000);

  it('a PostgreSQL immediate restart loses no acknowledged write, answers 503 with Retry-After (never 500) meanwhile, and both instances recover', async () => {
    const load = writeLoad('pgrestart');
    await new Promise((r) => setTimeout(r, 1_500));
    await services.postgres.restartImmediate();
    await services.waitReady(undefined, 60_000);
    await new Promise((r) => setTimeout(r, 1_500));
    await load.stop();
    if (load.statuses.has(500)) console.info(services.output(0), services.output(1));
    expect(Object.fromEntries(load.statuses)).not.toHaveProperty('500');
    await expectAllKept(load.acknowledged);
    // Both take writes again.
    for (const url of services.urls) expect((await create(url, 'after restart')).status).toBe(201);
  }, 180_000);

  /** Retries `name`'s key against instance 0 until it is no longer in flight or unavailable. */
  async function retryUntilAnswered(name: string, key: string) {
    for (let attempt = 0; attempt < 60; attempt++) {
      const res = await create(services.urls[0]!, name, key).catch(() => undefined);
      if (res && res.status !== 409 && res.status !== 503) return res;
      if (res?.status === 409) expect(res.body.code).toBe('idempotencyKeyInFlight');
      const wait = Number(res?.headers['retry-after'] ?? 1);
      await new Promise((r) => setTimeout(r, Math.min(wait, LEASE_SECONDS + 1) * 1000));
    }
    throw new Error(`key ${key} never answered`);
  }

  it('a retry after an instance crash with a key in flight gets the committed answer, or runs once if nothing committed', async () => {
    const outcomes: string[] = [];
    for (const delayMs of [0, 10, 40, 100, 250]) {
      const name = `key-kill-${delayMs}`;
      const key = `kill-${delayMs}-${Date.now()}`;
      const first = create(services.urls[1]!, name, key).then(
        (res) => res,
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, delayMs));
      await services.kill(1);
      const firstAnswer = await first;
      const retry = await retryUntilAnswered(name, key);
      expect(retry.status).toBe(201);
      expect(await claimsNamed(name)).toEqual([retry.body.id]);
      if (firstAnswer?.status === 201) expect(retry.body.id).toBe(firstAnswer.body.id);
      outcomes.push(retry.headers['idempotency-replayed'] === 'true' ? 'replayed' : 'ran once');
      await services.restart(1);
    }
    console.info(`retries after SIGKILL with a key in flight: ${outcomes.join(', ')}`);
  }, 240_000);

  it('a retry after a PostgreSQL immediate restart with a key in flight gets the committed answer, or runs once', async () => {
    const outcomes: string[] = [];
    for (const delayMs of [0, 10]) {
      const name = `key-pg-${delayMs}`;
      const key = `pg-${delayMs}-${Date.now()}`;
      const first = create(services.urls[1]!, name, key).then(
        (res) => res,
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, delayMs));
      await services.postgres.restartImmediate();
      const firstAnswer = await first;
      if (firstAnswer) expect([201, 503], JSON.stringify(firstAnswer.body)).toContain(firstAnswer.status);
      if (firstAnswer?.status === 503) expect(Number(firstAnswer.headers['retry-after'])).toBeGreaterThan(0);
      await services.waitReady(undefined, 60_000);
      const retry = await retryUntilAnswered(name, key);
      expect(retry.status).toBe(201);
      expect(await claimsNamed(name)).toEqual([retry.body.id]);
      if (firstAnswer?.status === 201) expect(retry.body.id).toBe(firstAnswer.body.id);
      outcomes.push(`${firstAnswer?.status ?? 'no answer'} then ${retry.headers['idempotency-replayed'] === 'true' ? 'replayed' : 'ran once'}`);
    }
    console.info(`retries after a PostgreSQL restart with a key in flight: ${outcomes.join(', ')}`);
  }, 240_000);
});
