/** Delivers outbox messages to the configured webhook URLs, signed, with retries and backoff. */
import type { Logger } from 'pino';
import type { ClaimStore, OutboxRecord } from '../claims/claim-store';
import { signWebhook, webhookSecretKey } from './webhook-signature';

export interface WebhookDispatcherOptions {
  store: Pick<ClaimStore, 'leaseOutbox' | 'releaseOutbox' | 'updateOutbox'>;
  /** Every message goes to every URL. Empty: nothing is sent and messages stay pending. */
  urls: readonly string[];
  /** HMAC key: `whsec_<base64>` (Standard Webhooks) or any other string, used as UTF-8. Required when there are URLs. */
  secret: string;
  clock: { now(): Date };
  fetch?: typeof fetch;
  logger?: Logger;
  /** Attempts before a message is marked failed; default 8. */
  maxAttempts?: number;
  /** Milliseconds to wait after the given (1-based) failed attempt; default exponentialBackoff(). */
  backoff?: (attempt: number) => number;
  /** Source of jitter for the default backoff; default Math.random. */
  random?: () => number;
  /** How long one POST may take; default 5000 ms. */
  timeoutMs?: number;
  /** Messages taken per deliverDue call; default 100. */
  batchSize?: number;
  /**
   * How long the messages a deliverDue call takes are this instance's (other instances skip
   * them); default 60 s. An attempt starts only while the lease outlasts it (`timeoutMs`), the
   * messages left over are given back, and an instance that dies holds its messages this long at most.
   */
  leaseMs?: number;
  /** Hears each attempt's outcome (metrics). */
  onAttempt?: (outcome: 'delivered' | 'failed' | 'retried', message: OutboxRecord) => void;
  /** Claims whose messages are delivered at once (a claim's own messages go one by one, in order); default 8. */
  concurrency?: number;
}

export interface DeliveryReport {
  /** Messages every URL accepted. */
  delivered: number;
  /** Messages that used up their attempts and are now `failed`. */
  failed: number;
  /** Messages that failed this time and were rescheduled. */
  retried: number;
}

export interface WebhookDispatcher {
  /** Attempts every pending message that is due now; concurrent calls share one run. */
  deliverDue(): Promise<DeliveryReport>;
}

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** Fraction of the delay added or removed at random; default 0.2 (±20%). */
  jitter?: number;
  random?: () => number;
}

/** `baseMs · 2^(attempt−1)`, capped at `maxMs`, ±`jitter`: 1 s, 2 s, 4 s … 1 h by default. */
export function exponentialBackoff(options: BackoffOptions = {}): (attempt: number) => number {
  const { baseMs = 1_000, maxMs = 3_600_000, jitter = 0.2, random = Math.random } = options;
  return (attempt) => {
    const delay = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), maxMs);
    return Math.round(delay * (1 + (random() * 2 - 1) * jitter));
  };
}

const MAX_ERROR_LENGTH = 1_000;

/**
 * A dispatcher for the outbox. Delivery is at least once: a message is retried (to every URL) until
 * all of them answer 2xx, so receivers should drop repeats by `webhook-id`. With no URLs configured
 * it sends nothing and leaves messages pending; they stay readable through the API.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, clock, logger } = options;
  const urls = options.urls.map(parseWebhookUrl);
  // Without URLs nothing is signed, so no secret is needed.
  if (urls.length > 0) webhookSecretKey(options.secret);
  const maxAttempts = positiveInteger(options.maxAttempts ?? 8, 'maxAttempts');
  const timeoutMs = positiveInteger(options.timeoutMs ?? 5_000, 'timeoutMs');
  const batchSize = positiveInteger(options.batchSize ?? 100, 'batchSize');
  const concurrency = positiveInteger(options.concurrency ?? 8, 'concurrency');
  const leaseMs = positiveInteger(options.leaseMs ?? 60_000, 'leaseMs');
  // An attempt must end (POST timeout, then recording the outcome) inside the lease.
  const attemptMs = timeoutMs + 1_000;
  if (leaseMs <= attemptMs) throw new Error(`leaseMs must be longer than timeoutMs + 1000; got ${leaseMs}.`);
  const backoff = options.backoff ?? exponentialBackoff({ random: options.random });
  const fetchImpl = options.fetch ?? fetch;
  let running: Promise<DeliveryReport> | undefined;

  /** Posts to one URL; returns why it failed, or undefined on 2xx. */
  async function post(url: URL, label: string, headers: Record<string, string>, body: string): Promise<string | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      // No redirects: a signed message goes only where it was configured to go.
      const response = await fetchImpl(url, { method: 'POST', headers, body, redirect: 'manual', signal: controller.signal });
      await response.body?.cancel().catch(() => undefined);
      return response.status >= 200 && response.status < 300 ? undefined : `${label}: HTTP ${response.status}`;
    } catch (error) {
      if (controller.signal.aborted) return `${label}: no answer within ${timeoutMs} ms`;
      return `${label}: ${describeFailure(error)}`;
    } finally {
      clearTimeout(timer);
    }
  }

  async function attempt(message: OutboxRecord): Promise<'delivered' | 'failed' | 'retried'> {
    const body = JSON.stringify({
      id: message.id,
      type: message.type,
      claimId: message.claimId,
      at: message.at,
      audience: message.audience,
      payload: message.payload,
    });
    const timestamp = Math.floor(clock.now().getTime() / 1000);
    const headers = {
      'content-type': 'application/json',
      'webhook-id': message.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(options.secret, message.id, timestamp, body),
    };
    const failures = (await Promise.all(urls.map(({ url, label }) => post(url, label, headers, body)))).filter(
      (failure): failure is string => failure !== undefined,
    );
    const finishedAt = clock.now();
    const attempts = message.attempts + 1;
    const log = { messageId: message.id, claimId: message.claimId, type: message.type, attempts };
    if (failures.length === 0) {
      await store.updateOutbox(message.id, {
        status: 'delivered',
        attempts,
        nextAttemptAt: null,
        lastError: null,
        deliveredAt: finishedAt.toISOString(),
      });
      logger?.info(log, 'webhook delivered');
      return 'delivered';
    }
    const lastError = failures.join('; ').slice(0, MAX_ERROR_LENGTH);
    if (attempts >= maxAttempts) {
      await store.updateOutbox(message.id, { status: 'failed', attempts, nextAttemptAt: null, lastError, deliveredAt: null });
      logger?.error({ ...log, lastError }, 'webhook delivery failed; giving up');
      return 'failed';
    }
    const nextAttemptAt = new Date(finishedAt.getTime() + Math.max(0, backoff(attempts))).toISOString();
    await store.updateOutbox(message.id, { status: 'pending', attempts, nextAttemptAt, lastError, deliveredAt: null });
    logger?.warn({ ...log, lastError, nextAttemptAt }, 'webhook delivery failed; will retry');
    return 'retried';
  }

  async function run(): Promise<DeliveryReport> {
    const report: DeliveryReport = { delivered: 0, failed: 0, retried: 0 };
    if (urls.length === 0) return report;
    const now = clock.now();
    const leaseUntil = new Date(now.getTime() + leaseMs).toISOString();
    // Taken, not just read: another instance's dispatcher skips these, so each is sent once.
    const due = await store.leaseOutbox(now.toISOString(), leaseUntil, batchSize);
    // A claim's messages one at a time, oldest first, so a receiver sees them in order; up to
    // `concurrency` claims side by side, so one slow claim (or receiver) does not hold up the rest.
    const byClaim = new Map<string, OutboxRecord[]>();
    for (const message of due) {
      const queue = byClaim.get(message.claimId);
      if (queue) queue.push(message);
      else byClaim.set(message.claimId, [message]);
    }
    const queues = [...byClaim.values()];
    const notAttempted: string[] = [];
    const leaseHolds = () => clock.now().getTime() + attemptMs <= Date.parse(leaseUntil);
    const worker = async () => {
      for (let queue = queues.shift(); queue; queue = queues.shift()) {
        for (const [i, message] of queue.entries()) {
          if (!leaseHolds()) {
            notAttempted.push(...queue.slice(i).map((m) => m.id));
            break;
          }
          const outcome = await attempt(message);
          report[outcome] += 1;
          options.onAttempt?.(outcome, message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queues.length) }, worker));
    if (notAttempted.length > 0) await store.releaseOutbox(notAttempted, leaseUntil);
    return report;
  }

  return {
    deliverDue() {
      running ??= run().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}

function parseWebhookUrl(raw: string, index: number): { url: URL; label: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Webhook URL ${index + 1} is not a valid URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`Webhook URL ${index + 1} must be http(s); got "${url.protocol}".`);
  }
  // Errors name the host only: paths and queries of webhook URLs often carry tokens.
  return { url, label: `webhook ${index + 1} (${url.host})` };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${value}.`);
  return value;
}

function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return `connection failed (${cause.code})`;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
