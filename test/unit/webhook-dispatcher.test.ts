import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimStore } from '../../src/claims/claim-store';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import type { OutboxMessage } from '../../src/claims/outbox-message';
import { createWebhookDispatcher, exponentialBackoff, type WebhookDispatcherOptions } from '../../src/outbox/webhook-dispatcher';
import { verifyWebhookSignature } from '../../src/outbox/webhook-signature';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const START = new Date('2026-03-10T16:00:00.000Z');

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Responder = (path: string, res: ServerResponse) => void;

let server: Server;
let base: string;
let received: Received[];
let respond: Responder;
let refusedUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      respond(req.url ?? '', res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port that was just free: nothing listens there, so connecting is refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  refusedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/hook`;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let store: ClaimStore;
let clock: { now(): Date; advance(ms: number): void };

beforeEach(() => {
  received = [];
  respond = (_path, res) => res.writeHead(204).end();
  store = createMemoryClaimStore();
  let current = START.getTime();
  clock = { now: () => new Date(current), advance: (ms) => void (current += ms) };
});

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: 'claim-1:7',
    claimId: 'claim-1',
    type: 'claim.rejected',
    at: '2026-03-10T15:00:00.000Z',
    audience: 'partner',
    payload: { claimId: 'claim-1', partnerId: '4512345', reason: 'noPartnerResponse' },
    ...overrides,
  };
}

async function enqueue(...messages: OutboxMessage[]) {
  await store.transaction((tx) => tx.appendOutbox(messages));
}

async function record(id = 'claim-1:7') {
  const [found] = (await store.listOutbox({ limit: 100 })).filter((m) => m.id === id);
  return found!;
}

function dispatcher(overrides: Partial<WebhookDispatcherOptions> = {}) {
  return createWebhookDispatcher({
    store,
    urls: [`${base}/hook`],
    secret: SECRET,
    clock,
    backoff: (attempt) => attempt * 60_000,
    ...overrides,
  });
}

describe('createWebhookDispatcher: delivery', () => {
  it('POSTs the message to every URL, signed with the Standard Webhooks headers, and marks it delivered', async () => {
    await enqueue(message());
    const report = await dispatcher({ urls: [`${base}/a`, `${base}/b`] }).deliverDue();
    expect(report).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(received.map((r) => r.path).sort()).toEqual(['/a', '/b']);
    for (const request of received) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-id']).toBe('claim-1:7');
      expect(request.headers['webhook-timestamp']).toBe(String(START.getTime() / 1000));
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(JSON.parse(request.body)).toEqual({
        id: 'claim-1:7',
        type: 'claim.rejected',
        claimId: 'claim-1',
        at: '2026-03-10T15:00:00.000Z',
        audience: 'partner',
        payload: { claimId: 'claim-1', partnerId: '4512345', reason: 'noPartnerResponse' },
      });
      expect(verifyWebhookSignature(SECRET, request.headers, request.body, 300, clock.now())).toBe(true);
      expect(verifyWebhookSignature('whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==', request.headers, request.body, 300, clock.now())).toBe(false);
      expect(verifyWebhookSignature(SECRET, request.headers, request.body.replace('4512345', '4599999'), 300, clock.now())).toBe(false);
    }
    expect(await record()).toMatchObject({
      status: 'delivered',
      attempts: 1,
      nextAttemptAt: null,
      lastError: null,
      deliveredAt: START.toISOString(),
    });
  });

  it('sends due messages oldest first and leaves messages that are not due yet', async () => {
    await enqueue(
      message({ id: 'c:3', at: '2026-03-10T15:30:00.000Z' }),
      message({ id: 'c:2', at: '2026-03-10T15:00:00.000Z' }),
      message({ id: 'c:9', at: '2026-03-10T17:00:00.000Z' }),
    );
    expect(await dispatcher().deliverDue()).toEqual({ delivered: 2, failed: 0, retried: 0 });
    expect(received.map((r) => r.headers['webhook-id'])).toEqual(['c:2', 'c:3']);
    expect((await record('c:9')).status).toBe('pending');
  });

  it('accepts any 2xx answer', async () => {
    respond = (_path, res) => res.writeHead(202, { 'content-type': 'text/plain' }).end('queued');
    await enqueue(message());
    expect(await dispatcher().deliverDue()).toEqual({ delivered: 1, failed: 0, retried: 0 });
  });

  it('sends nothing and keeps messages pending when no URL is configured (no secret needed then)', async () => {
    await enqueue(message());
    expect(await dispatcher({ urls: [], secret: '' }).deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 0 });
    expect(received).toEqual([]);
    expect(await record()).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
  });

  it('shares one run between concurrent deliverDue calls, so a message is sent once', async () => {
    await enqueue(message());
    const webhooks = dispatcher();
    const [first, second] = await Promise.all([webhooks.deliverDue(), webhooks.deliverDue()]);
    expect(first).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(second).toBe(first);
    expect(received).toHaveLength(1);
  });
});

describe('createWebhookDispatcher: retries', () => {
  it('retries after a 500 with backoff, then delivers once the receiver recovers', async () => {
    respond = (_path, res) => res.writeHead(500).end('boom');
    await enqueue(message());
    const webhooks = dispatcher();
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 1 });
    expect(await record()).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringContaining('HTTP 500'),
      nextAttemptAt: '2026-03-10T16:01:00.000Z',
    });

    clock.advance(30_000);
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 0 });
    expect(received).toHaveLength(1);

    clock.advance(30_000);
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 1 });
    expect(await record()).toMatchObject({ attempts: 2, nextAttemptAt: '2026-03-10T16:03:00.000Z' });

    respond = (_path, res) => res.writeHead(200).end();
    clock.advance(120_000);
    expect(await webhooks.deliverDue()).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(await record()).toMatchObject({ status: 'delivered', attempts: 3, lastError: null, deliveredAt: '2026-03-10T16:03:00.000Z' });
    expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set(['claim-1:7']));
    // Each attempt is signed afresh with its own timestamp.
    expect(received.map((r) => r.headers['webhook-timestamp'])).toEqual(['1773158400', '1773158460', '1773158580']);
  });

  it('retries when the receiver does not answer in time', async () => {
    respond = () => undefined;
    await enqueue(message());
    const started = Date.now();
    expect(await dispatcher({ timeoutMs: 200 }).deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 1 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await record()).lastError).toMatch(/webhook 1 \(127\.0\.0\.1:\d+\): no answer within 200 ms/);
  });

  it("delivers different claims' messages side by side: a receiver stuck on one claim does not hold up another", async () => {
    respond = (path, res) => {
      if (path !== '/hook?stuck') res.writeHead(204).end();
    };
    const urlFor = (claimId: string) => (claimId === 'stuck' ? `${base}/hook?stuck` : `${base}/hook`);
    // One URL per dispatcher is configured; route by claim through fetch so one claim's receiver hangs.
    let freeSentAfterMs = Infinity;
    const routed: typeof fetch = (input, init) => {
      const claimId = (JSON.parse(String(init!.body)) as { claimId: string }).claimId;
      if (claimId === 'free') freeSentAfterMs = Date.now() - started;
      return fetch(urlFor(claimId), init);
    };
    await enqueue(
      message({ id: 'stuck:1', claimId: 'stuck', at: '2026-03-10T15:00:00.000Z' }),
      message({ id: 'free:1', claimId: 'free', at: '2026-03-10T15:10:00.000Z' }),
    );
    const started = Date.now();
    const report = await dispatcher({ fetch: routed, timeoutMs: 1_500 }).deliverDue();
    expect(report).toEqual({ delivered: 1, failed: 0, retried: 1 });
    expect((await record('free:1')).status).toBe('delivered');
    // Side by side: the other claim's message went out while the stuck one waited, not after its timeout.
    expect(freeSentAfterMs).toBeLessThan(1_000);
  });

  it("keeps one claim's messages in order and never runs more than `concurrency` deliveries at once", async () => {
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    const counting: typeof fetch = async (input, init) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      order.push(String((init!.headers as Record<string, string>)['webhook-id']));
      await new Promise((r) => setTimeout(r, 20));
      inFlight -= 1;
      return new Response(null, { status: 204 });
    };
    const messages = [];
    for (let claim = 0; claim < 10; claim++) {
      for (let n = 1; n <= 3; n++) {
        messages.push(message({ id: `c${claim}:${n}`, claimId: `c${claim}`, at: `2026-03-10T15:${String(claim * 3 + n).padStart(2, '0')}:00.000Z` }));
      }
    }
    await enqueue(...messages);
    expect(await dispatcher({ fetch: counting, concurrency: 4 }).deliverDue()).toEqual({ delivered: 30, failed: 0, retried: 0 });
    expect(most).toBe(4);
    for (let claim = 0; claim < 10; claim++) {
      expect(order.filter((id) => id.startsWith(`c${claim}:`))).toEqual([`c${claim}:1`, `c${claim}:2`, `c${claim}:3`]);
    }
  });

  it('retries when the connection is refused', async () => {
    await enqueue(message());
    expect(await dispatcher({ urls: [refusedUrl] }).deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 1 });
    expect((await record()).lastError).toMatch(/connection failed \(ECONNREFUSED\)/);
  });

  it('does not follow redirects', async () => {
    respond = (path, res) => (path === '/hook' ? res.writeHead(307, { location: `${base}/elsewhere` }).end() : res.writeHead(200).end());
    await enqueue(message());
    expect(await dispatcher().deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 1 });
    expect(received.map((r) => r.path)).toEqual(['/hook']);
    expect((await record()).lastError).toMatch(/HTTP 307/);
  });

  it('retries to every URL until all of them accept, naming only the failing one', async () => {
    respond = (path, res) => res.writeHead(path === '/down' ? 503 : 200).end();
    await enqueue(message());
    const webhooks = dispatcher({ urls: [`${base}/up?token=s3cret`, `${base}/down`] });
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 1 });
    const { lastError } = await record();
    expect(lastError).toMatch(/^webhook 2 \(127\.0\.0\.1:\d+\): HTTP 503$/);
    expect(lastError).not.toContain('s3cret');
    respond = (_path, res) => res.writeHead(200).end();
    clock.advance(60_000);
    expect(await webhooks.deliverDue()).toEqual({ delivered: 1, failed: 0, retried: 0 });
    expect(received.filter((r) => r.path.startsWith('/up'))).toHaveLength(2);
  });

  it('marks a message failed after maxAttempts and stops sending it', async () => {
    respond = (_path, res) => res.writeHead(500).end();
    await enqueue(message());
    const webhooks = dispatcher({ maxAttempts: 3 });
    const reports = [];
    for (let i = 0; i < 3; i++) {
      reports.push(await webhooks.deliverDue());
      clock.advance(3_600_000);
    }
    expect(reports).toEqual([
      { delivered: 0, failed: 0, retried: 1 },
      { delivered: 0, failed: 0, retried: 1 },
      { delivered: 0, failed: 1, retried: 0 },
    ]);
    expect(await record()).toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null, lastError: expect.stringContaining('HTTP 500') });
    expect(await webhooks.deliverDue()).toEqual({ delivered: 0, failed: 0, retried: 0 });
    expect(received).toHaveLength(3);
  });

  it('gives up after 8 attempts by default, with the default exponential backoff', async () => {
    respond = (_path, res) => res.writeHead(500).end();
    await enqueue(message());
    const webhooks = dispatcher({ backoff: undefined, random: () => 0.5 });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = clock.now().getTime();
      await webhooks.deliverDue();
      const { nextAttemptAt, status } = await record();
      if (status === 'pending') {
        delays.push(Date.parse(nextAttemptAt!) - before);
        clock.advance(Date.parse(nextAttemptAt!) - before);
      }
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000]);
    expect(await record()).toMatchObject({ status: 'failed', attempts: 8 });
  });

  it('logs retries and give-ups through the given pino logger', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    respond = (_path, res) => res.writeHead(500).end();
    await enqueue(message());
    await dispatcher({ maxAttempts: 2, logger: pino(sink) }).deliverDue();
    clock.advance(60_000);
    await dispatcher({ maxAttempts: 2, logger: pino(sink) }).deliverDue();
    expect(lines.map((line) => [line.level, line.msg, line.messageId])).toEqual([
      [40, 'webhook delivery failed; will retry', 'claim-1:7'],
      [50, 'webhook delivery failed; giving up', 'claim-1:7'],
    ]);
  });
});

describe('createWebhookDispatcher: configuration', () => {
  it.each([
    [{ urls: ['not a url'] }, /Webhook URL 1 is not a valid URL/],
    [{ urls: ['ftp://example.com/hook'] }, /must be http\(s\)/],
    [{ secret: '' }, /secret is empty/],
    [{ secret: 'whsec_!!!' }, /base64/],
    [{ maxAttempts: 0 }, /maxAttempts/],
    [{ timeoutMs: -1 }, /timeoutMs/],
  ] as const)('refuses %j', (overrides, message) => {
    expect(() => dispatcher(overrides as Partial<WebhookDispatcherOptions>)).toThrow(message);
  });
});

describe('exponentialBackoff', () => {
  it('doubles from one second and caps at one hour', () => {
    const backoff = exponentialBackoff({ random: () => 0.5 });
    expect([1, 2, 3, 4, 10, 12, 13, 30].map(backoff)).toEqual([1_000, 2_000, 4_000, 8_000, 512_000, 2_048_000, 3_600_000, 3_600_000]);
  });

  it('adds up to ±20% jitter', () => {
    expect(exponentialBackoff({ random: () => 0 })(3)).toBe(3_200);
    expect(exponentialBackoff({ random: () => 0.999999 })(3)).toBe(4_800);
    expect(exponentialBackoff({ random: () => 0 })(40)).toBe(2_880_000);
    const real = exponentialBackoff();
    for (let i = 0; i < 100; i++) {
      const delay = real(5);
      expect(delay).toBeGreaterThanOrEqual(12_800);
      expect(delay).toBeLessThanOrEqual(19_200);
    }
  });
});
