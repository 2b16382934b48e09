/**
 * Idempotency keys in the database, so every service instance sees them. `begin`
 * is race-safe: the insert either claims the key or conflicts on the primary key,
 * and then the stored row says what to do.
 */
import type { Knex } from 'knex';
import type { IdempotencyBegin, IdempotencyStore } from '../idempotency/idempotency-store';

interface KeyRow {
  request_hash: string;
  response_status: number | null;
  response_headers: string | null;
  response_body: string | null;
}

export function createKnexIdempotencyStore(knex: Knex): IdempotencyStore {
  return {
    async begin(scope, key, requestHash, now): Promise<IdempotencyBegin> {
      // A key abandoned between our insert and our read is free again: try once more.
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted: unknown[] = await knex('idempotency_keys')
          .insert({ scope, key, request_hash: requestHash, created_at: new Date(now).toISOString() })
          .onConflict(['scope', 'key'])
          .ignore()
          .returning('key');
        if (inserted.length > 0) return { state: 'new' };
        const row: KeyRow | undefined = await knex('idempotency_keys')
          .select('request_hash', 'response_status', 'response_headers', 'response_body')
          .where({ scope, key })
          .first();
        if (!row) continue;
        if (row.request_hash !== requestHash) return { state: 'mismatch' };
        if (row.response_status === null) return { state: 'inFlight' };
        return {
          state: 'done',
          response: {
            status: Number(row.response_status),
            headers: JSON.parse(row.response_headers ?? '{}') as Record<string, string>,
            body: row.response_body ?? '',
          },
        };
      }
      throw new Error(`idempotency key ${JSON.stringify([scope, key])} keeps being released while it is claimed`);
    },

    async complete(scope, key, response) {
      await knex('idempotency_keys')
        .where({ scope, key })
        .update({
          response_status: response.status,
          response_headers: JSON.stringify(response.headers),
          response_body: response.body,
        });
    },

    async abandon(scope, key) {
      await knex('idempotency_keys').where({ scope, key }).delete();
    },

    async purge(before) {
      return knex('idempotency_keys').where('created_at', '<', new Date(before).toISOString()).delete();
    },
  };
}
