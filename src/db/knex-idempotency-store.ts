/**
 * Idempotency keys in the database, so every service instance sees them. `begin` is
 * race-safe: the insert either claims the key or conflicts on the primary key, and then
 * the stored row says what to do; a lapsed lease is taken over by a compare-and-set on its
 * token, so of two retries exactly one wins. `keepReplyIn` stores an answer inside the
 * transaction of the change it answers (the claim store's `keepReply`).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError } from '../domain/errors';
import {
  DEFAULT_LEASE_SECONDS,
  secondsLeft,
  type IdempotencyBegin,
  type IdempotencyStore,
  type KeptReply,
} from '../idempotency/idempotency-store';
import type { StoreSql } from './store-sql';

interface KeyRow {
  request_hash: string;
  response_status: number | null;
  response_headers: string | null;
  response_body: string | null;
  lease_token: string | null;
  lease_until: string | null;
}

const TABLE = 'idempotency_keys';

/**
 * The update that stores a reply if its token still holds the key (0 or 1 rows changed), as plain
 * SQL: the claim store's transaction may run on the SQLite driver, not on knex.
 */
const STORE_REPLY =
  `update ${TABLE} set response_status = ?, response_headers = ?, response_body = ? ` +
  'where scope = ? and "key" = ? and lease_token = ? and response_status is null';

const storeReplyBindings = ({ scope, key, token, response }: KeptReply) => [response.status, JSON.stringify(response.headers), response.body, scope, key, token];

/**
 * Stores the answer to a key in `sql`, the transaction of the change it answers. Throws
 * (rolling the change back) when the lease was lost: a retry took the key over after it
 * lapsed, and that attempt, not this one, makes the change.
 */
export async function keepReplyIn(sql: Pick<StoreSql, 'run'>, reply: KeptReply): Promise<void> {
  if ((await sql.run(STORE_REPLY, storeReplyBindings(reply))) === 0) {
    throw new ConflictError(
      'idempotencyKeyInFlight',
      'This request took longer than its Idempotency-Key lease and a retry took the key over; that retry makes the change.',
    );
  }
}

export function createKnexIdempotencyStore(knex: Knex, options: { leaseSeconds?: number } = {}): IdempotencyStore {
  const leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  const until = (now: string) => new Date(Date.parse(now) + leaseMs).toISOString();
  return {
    async begin(scope, key, requestHash, now): Promise<IdempotencyBegin> {
      const at = new Date(now).toISOString();
      // A key abandoned, or taken over, between our insert and our read: try again.
      for (let attempt = 0; attempt < 5; attempt++) {
        const token = randomUUID();
        const inserted: unknown[] = await knex(TABLE)
          .insert({ scope, key, request_hash: requestHash, created_at: at, lease_token: token, lease_until: until(at) })
          .onConflict(['scope', 'key'])
          .ignore()
          .returning('key');
        if (inserted.length > 0) return { state: 'new', token };
        const row: KeyRow | undefined = await knex(TABLE)
          .select('request_hash', 'response_status', 'response_headers', 'response_body', 'lease_token', 'lease_until')
          .where({ scope, key })
          .first();
        if (!row) continue;
        if (row.request_hash !== requestHash) return { state: 'mismatch' };
        if (row.response_status !== null) {
          return {
            state: 'done',
            response: {
              status: Number(row.response_status),
              headers: JSON.parse(row.response_headers ?? '{}') as Record<string, string>,
              body: row.response_body ?? '',
            },
          };
        }
        if (row.lease_until !== null && row.lease_until > at) return { state: 'inFlight', retryAfterSec: secondsLeft(row.lease_until, at) };
        // The lease lapsed (its attempt died, or is too slow): take the key over from that token.
        const taken = await knex(TABLE)
          .where({ scope, key })
          .whereNull('response_status')
          .where((q) => (row.lease_token === null ? q.whereNull('lease_token') : q.where('lease_token', row.lease_token)))
          .update({ lease_token: token, lease_until: until(at) });
        if (taken === 1) return { state: 'new', token };
      }
      throw new Error(`idempotency key ${JSON.stringify([scope, key])} keeps changing hands while it is claimed`);
    },

    async complete(reply) {
      await knex.raw(STORE_REPLY, storeReplyBindings(reply));
    },

    async abandon(scope, key, token) {
      await knex(TABLE).where({ scope, key, lease_token: token }).whereNull('response_status').delete();
    },

    async purge(before) {
      return knex(TABLE).where('created_at', '<', new Date(before).toISOString()).delete();
    },
  };
}
