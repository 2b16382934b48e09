/**
 * Idempotency keys for POSTs: the same key and body replay the first response, a
 * different body is refused, one still in flight is refused. Keys are scoped per caller.
 *
 * A key in flight is a lease held by one attempt (its `token`) for a short time: an attempt
 * that dies (its process killed, its database restarted) stops renewing nothing and simply
 * lets it lapse, and a retry after that takes the key over. Only the holder of the lease can
 * store an answer, and a change that answers a key stores the answer in its own transaction
 * (`keepReply`), so a retry sees either the committed attempt's answer or no change at all.
 */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type IdempotencyBegin =
  | { state: 'new'; token: string }
  | { state: 'inFlight'; retryAfterSec: number }
  | { state: 'mismatch' }
  | { state: 'done'; response: StoredResponse };

/** The answer to a key, stored by the attempt holding its lease. */
export interface KeptReply {
  scope: string;
  key: string;
  token: string;
  response: StoredResponse;
}

/** Default lease of a key in flight (IDEMPOTENCY_LEASE_SECONDS). */
export const DEFAULT_LEASE_SECONDS = 30;

export interface IdempotencyStore {
  /**
   * Claims (scope, key) for a request whose body hashes to `requestHash`, at `now`; says what
   * to do. A key whose lease has lapsed without an answer is taken over (`new`, a new token).
   */
  begin(scope: string, key: string, requestHash: string, now: string): Promise<IdempotencyBegin>;
  /** Records the response to replay, if the lease `token` still holds the key and it has none yet. */
  complete(reply: KeptReply): Promise<void>;
  /** Releases a key whose request failed with a fault (5xx), so a retry can run (if `token` still holds it). */
  abandon(scope: string, key: string, token: string): Promise<void>;
  /** Forgets keys first used before `before` (ISO instant), done or still in flight; answers how many. */
  purge(before: string): Promise<number>;
}

/** Seconds until `leaseUntil` (ISO) from `now` (ISO), at least 1. */
export function secondsLeft(leaseUntil: string, now: string): number {
  return Math.max(1, Math.ceil((Date.parse(leaseUntil) - Date.parse(now)) / 1000));
}
