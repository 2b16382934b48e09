/**
 * Idempotency keys for POSTs: the same key and body replay the first response, a
 * different body is refused, one still in flight is refused. Keys are scoped per caller.
 */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'inFlight' }
  | { state: 'mismatch' }
  | { state: 'done'; response: StoredResponse };

export interface IdempotencyStore {
  /** Claims (scope, key) for a request whose body hashes to `requestHash`; says what to do. */
  begin(scope: string, key: string, requestHash: string, now: string): Promise<IdempotencyBegin>;
  /** Records the response to replay. */
  complete(scope: string, key: string, response: StoredResponse): Promise<void>;
  /** Releases a key whose request failed with a fault (5xx), so a retry can run. */
  abandon(scope: string, key: string): Promise<void>;
  /** Forgets keys first used before `before` (ISO instant), done or still in flight; answers how many. */
  purge(before: string): Promise<number>;
}
