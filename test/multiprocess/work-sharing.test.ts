/**
 * Two real `cpor serve` processes on one PostgreSQL share the background work: deadlines that
 * fall due together are split between them and each fires once; each outbox message is POSTed
 * once. The work is written in one transaction (claims built through the claim service on a
 * virtual clock in the past), so it all becomes due at the same instant for both.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { documentedRequest } from '../support/documented-requests';
import { storeClaimsAtOnce } from '../support/seed-claims';
import { startServiceProcesses, type ServiceProcesses } from '../support/service-processes';

const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let policy: CompiledPolicy;
let services: ServiceProcesses;
let knex: Knex;
let receiver: Server;
const received = new Map<string, number>();

beforeAll(async () => {
  policy = await compiledBundledPolicy();
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      received.set(id, (received.get(id) ?? 0) + 1);
      setTimeout(() => res.writeHead(204).end(), 2);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  services = await startServiceProcesses({
    count: 2,
    env: {
      SCHEDULER_INTERVAL_MS: '200',
      WEBHOOK_URLS: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      WEBHOOK_SECRET,
    },
  });
  knex = createDatabase({ databaseUrl: services.databaseUrl, dataDir: tmpdir() });
}, 240_000);

afterAll(async () => {
  await knex?.destroy();
  await services?.stop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** Polls until `done` holds, at most `ms`. */
async function eventually(done: () => Promise<boolean>, ms: number): Promise<void> {
  const giveUpAt = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > giveUpAt) throw new Error(`not done within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A counter's total on instance `i`, from its /metrics (label filter optional). */
async function counter(i: number, name: string, label = ''): Promise<number> {
  const response = await documentedRequest(services.urls[i]!).get('/metrics');
  expect(response.status).toBe(200);
  return response.text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(label))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('two cpor serve processes sharing the background work', () => {
  it('500 deadlines due at once fire exactly once, and both instances take part', async () => {
    // Submitted claims: reviewStart and decisionTarget each, so 250 claims hold 500 due deadlines.
    const claims = await storeClaimsAtOnce(knex, policy, 250, 'submitted');
    const ids = claims.map((c) => c.id);
    const firings = () =>
      knex('claim_history').whereIn('claim_id', ids).where('actor_role', 'system').select('claim_id', 'event') as Promise<
        Array<{ claim_id: string; event: string }>
      >;
    await eventually(async () => (await firings()).length >= 500, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second firing would land by now

    const rows = await firings();
    expect(rows).toHaveLength(500);
    const perClaim = new Map<string, string[]>();
    for (const row of rows) perClaim.set(row.claim_id, [...(perClaim.get(row.claim_id) ?? []), row.event]);
    for (const id of ids) expect(perClaim.get(id)?.sort()).toEqual(['decisionTargetDue', 'reviewStartDue']);

    const byInstance = [await counter(0, 'cpor_deadlines_fired_total'), await counter(1, 'cpor_deadlines_fired_total')];
    expect(byInstance[0]! + byInstance[1]!).toBe(500);
    expect(byInstance[0], `instance 0 fired ${byInstance[0]}, instance 1 ${byInstance[1]}`).toBeGreaterThan(0);
    expect(byInstance[1], `instance 0 fired ${byInstance[0]}, instance 1 ${byInstance[1]}`).toBeGreaterThan(0);
  }, 180_000);

  it('each outbox message is POSTed once to the receiver when nothing fails', async () => {
    const before = (await counter(0, 'cpor_webhook_deliveries_total', 'delivered')) + (await counter(1, 'cpor_webhook_deliveries_total', 'delivered'));
    const claims = await storeClaimsAtOnce(knex, policy, 200, 'rejected');
    const messages = (await knex('outbox').whereIn('claim_id', claims.map((c) => c.id)).select('id')) as Array<{ id: string }>;
    expect(messages).toHaveLength(200);
    const delivered = async () => Number((await knex('outbox').whereIn('id', messages.map((m) => m.id)).where('status', 'delivered').count({ n: '*' }))[0]!.n);
    await eventually(async () => (await delivered()) === 200, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second POST would arrive by now

    for (const { id } of messages) expect(received.get(id), id).toBe(1);
    const after = (await counter(0, 'cpor_webhook_deliveries_total', 'delivered')) + (await counter(1, 'cpor_webhook_deliveries_total', 'delivered'));
    expect(after - before).toBe(200);
  }, 180_000);
});
