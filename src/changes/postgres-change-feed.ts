/**
 * The change feed across instances on PostgreSQL: a committed change is sent with
 * NOTIFY on `cpor_claim_changes`, and every instance (this one too) LISTENs there and
 * hands what arrives to its own subscribers. The listening connection is re-opened after
 * a failure; changes made meanwhile are missed, as a live view can afford (it reloads).
 */
import pg from 'pg';
import { createSubscribers, type ChangeFeed, type ClaimChange } from './change-feed';

const CHANGES_CHANNEL = 'cpor_claim_changes';

export interface PostgresChangeFeedOptions {
  databaseUrl: string;
  logger: { warn(obj: object, message: string): void; error(obj: object, message: string): void };
  /** First wait before re-opening a broken listening connection (doubles up to 30 s). */
  retryMs?: number;
}

const MAX_RETRY_MS = 30_000;

/** Starts listening; resolves once the first LISTEN is in place. */
export async function createPostgresChangeFeed(options: PostgresChangeFeedOptions): Promise<ChangeFeed> {
  const { databaseUrl, logger } = options;
  const subscribers = createSubscribers((error) => logger.error({ err: error }, 'a change subscriber failed'));
  const sender = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  sender.on('error', (error) => logger.warn({ err: error }, 'change feed: idle sender connection failed'));
  let listener: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let wait = options.retryMs ?? 1_000;

  const receive = (message: pg.Notification) => {
    if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
    let change: ClaimChange;
    try {
      change = JSON.parse(message.payload) as ClaimChange;
    } catch {
      logger.warn({ payload: message.payload.slice(0, 200) }, 'change feed: a notification is not JSON');
      return;
    }
    subscribers.deliver(change);
  };

  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', receive);
    client.on('error', (error) => {
      logger.warn({ err: error }, 'change feed: the listening connection failed; re-opening it');
      reopen(client);
    });
    client.on('end', () => reopen(client));
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    listener = client;
    wait = options.retryMs ?? 1_000;
  };

  const reopen = (broken: pg.Client) => {
    if (closed || listener !== broken) return;
    listener = undefined;
    broken.end().catch(() => undefined);
    const attempt = () => {
      retry = undefined;
      if (closed) return;
      listen().catch((error: unknown) => {
        logger.warn({ err: error, retryMs: wait }, 'change feed: cannot listen yet');
        wait = Math.min(wait * 2, MAX_RETRY_MS);
        retry = setTimeout(attempt, wait);
        retry.unref();
      });
    };
    retry = setTimeout(attempt, wait);
    retry.unref();
  };

  await listen();
  return {
    publish(changes) {
      for (const change of changes) {
        sender.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]).catch((error: unknown) => {
          logger.warn({ err: error, claimId: change.id }, 'change feed: a change could not be announced');
        });
      }
    },
    subscribe: (subscriber) => subscribers.add(subscriber),
    async close() {
      closed = true;
      clearTimeout(retry);
      subscribers.endAll();
      await listener?.end().catch(() => undefined);
      listener = undefined;
      await sender.end().catch(() => undefined);
    },
  };
}
