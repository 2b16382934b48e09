/**
 * `Idempotency-Key` on POSTs: the same key with the same request replays the first
 * response (`Idempotency-Replayed: true`), a different request is 422, one still in
 * flight is 409 (with Retry-After: what is left of its lease). Keys are scoped per caller;
 * a 5xx, or a request turned away before it ran, releases the key so a retry runs.
 *
 * Routes that change a claim answer through `keepAnswer`/`sendAnswer`: the answer is stored
 * in the change's transaction, so a crash between the commit and the response leaves the
 * answer for the retry to replay, and a crash before the commit leaves nothing (the retry
 * runs once the key's lease lapses).
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Principal } from '../auth/authenticator';
import type { ActOptions, ActResult, Clock } from '../claims/claim-service';
import type { IdempotencyStore, StoredResponse } from '../idempotency/idempotency-store';
import { etagOf } from './etag';
import { principalOf } from './auth';
import { HttpError } from './errors';
import { rawBodyOf } from './json-body';
import type { HeaderParameter } from './route-spec';

const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_KEY: HeaderParameter = {
  name: IDEMPOTENCY_HEADER,
  required: false,
  description:
    'Makes a retry safe: the same key and request replay the first response; a different request with the key is 422; one still running is 409 (Retry-After: when its lease lapses and a retry may take it over). Keys are per caller.',
};

/** Headers kept with a stored response and replayed. */
const REPLAYED_HEADERS = ['content-type', 'etag', 'location'];

/** The scope a key lives in: the caller (role, subject, and the partner or tenant it acts for). */
const idempotencyScope = (principal: Principal) =>
  [principal.role, principal.id, principal.partnerId ?? '', principal.tenantId ?? ''].join('\u001f');

/** SHA-256 over the method, the path (with query) and the request body. */
export function requestHash(method: string, path: string, body: Buffer | string): string {
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n`).update(body).digest('hex');
}

export interface IdempotencyOptions {
  store: IdempotencyStore;
  clock: Clock;
  logger: Logger;
}

/** The key of a request, validated; undefined when it has none. */
function keyOf(req: Request): string | undefined {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpError('invalidIdempotencyKey', 'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).');
  }
  return key;
}

/**
 * Runs `handle` under the request's idempotency key, if it has one. `hash` is the
 * request's hash (for JSON, over the raw body; multipart routes hash what they parsed).
 */
export async function runIdempotently(
  options: IdempotencyOptions,
  req: Request,
  res: Response,
  hash: string,
  handle: () => Promise<void> | void,
): Promise<void> {
  const key = keyOf(req);
  if (key === undefined) return handle();
  const scope = idempotencyScope(principalOf(res));
  const begun = await options.store.begin(scope, key, hash, options.clock.now().toISOString());
  switch (begun.state) {
    case 'done':
      replay(res, begun.response);
      return;
    case 'inFlight':
      throw new HttpError(
        'idempotencyKeyInFlight',
        'A request with this Idempotency-Key is still being processed; retry it shortly.',
        {},
        { retryAfterSec: begun.retryAfterSec },
      );
    case 'mismatch':
      throw new HttpError(
        'idempotencyKeyReused',
        'This Idempotency-Key was already used for a different request; use a new key for a new request.',
      );
    case 'new':
      break;
  }
  const held: Held = { scope, key, token: begun.token, kept: false };
  heldKeys.set(res, held);
  recordResponse(options, res, held);
  return handle();
}

/** The key a request holds while it runs (res.locals). */
interface Held {
  scope: string;
  key: string;
  token: string;
  /** Its answer was stored with the change. */
  kept: boolean;
}
const heldKeys = new WeakMap<Response, Held>();

/** A route's JSON answer to a change. */
export interface Answer {
  status: number;
  /** The claim version, sent as the ETag. */
  etag?: number;
  location?: string;
  body: unknown;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function storedAnswer(answer: Answer): StoredResponse {
  const headers: Record<string, string> = { 'content-type': JSON_TYPE };
  if (answer.etag !== undefined) headers.etag = etagOf(answer.etag);
  if (answer.location !== undefined) headers.location = answer.location;
  return { status: answer.status, headers, body: JSON.stringify(answer.body) };
}

/**
 * The service option that stores `render(result)` as the answer to the request's key in the
 * change's transaction (none without a key, or on a store that cannot: memory).
 */
export function keepAnswer(res: Response, render: (result: ActResult) => Answer | Promise<Answer>): Pick<ActOptions, 'withChange'> {
  const held = heldKeys.get(res);
  if (!held) return {};
  return {
    async withChange(result, tx) {
      if (!tx.keepReply) return;
      await tx.keepReply({ scope: held.scope, key: held.key, token: held.token, response: storedAnswer(await render(result)) });
      held.kept = true;
    },
  };
}

/**
 * An answer rendered once per change: keepAnswer stores it in the transaction and the route sends
 * it, so the view (with its live deficiencies and actions) is not worked out twice.
 */
export function renderOnce(render: (result: ActResult) => Answer | Promise<Answer>): (result: ActResult) => Promise<Answer> {
  const rendered = new WeakMap<ActResult, Promise<Answer>>();
  return (result) => {
    let answer = rendered.get(result);
    if (!answer) rendered.set(result, (answer = Promise.resolve(render(result))));
    return answer;
  };
}

/** Sends an answer (as keepAnswer stored it). */
export function sendAnswer(res: Response, answer: Answer): void {
  const stored = storedAnswer(answer);
  res.status(stored.status).set(stored.headers).send(stored.body);
}

/** Middleware form for JSON routes: hashes method, path and raw body. */
export function idempotent(options: IdempotencyOptions): RequestHandler {
  return (req, res, next) =>
    runIdempotently(options, req, res, requestHash(req.method, req.originalUrl, rawBodyOf(req)), () => next());
}

function replay(res: Response, stored: StoredResponse): void {
  res.status(stored.status);
  for (const [name, value] of Object.entries(stored.headers)) res.set(name, value);
  res.set('Idempotency-Replayed', 'true');
  res.send(stored.body);
}

/**
 * Keeps the response before it is sent (so a retry that arrives right after it sees
 * it), or releases the key on a fault or when no response is ever sent.
 */
function recordResponse(options: IdempotencyOptions, res: Response, held: Held): void {
  const { scope, key, token } = held;
  const send = res.send.bind(res);
  let settled = false;
  const release = () => {
    if (settled) return Promise.resolve();
    settled = true;
    // Never releases an answer stored with a change: the store keeps a key that has one.
    return options.store.abandon(scope, key, token);
  };
  res.send = ((body?: unknown) => {
    res.send = send;
    if (settled) return send(body);
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && !res.get('content-type')) res.type('json');
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body ?? '');
    const done = !isKept(res.statusCode)
      ? release()
      : ((settled = true),
        held.kept
          ? Promise.resolve()
          : options.store.complete({ scope, key, token, response: { status: res.statusCode, headers: headersOf(res), body: text } }));
    done
      .catch((error: unknown) => options.logger.error({ err: error }, 'idempotency key could not be recorded'))
      .finally(() => send(text));
    return res;
  }) as Response['send'];
  res.on('close', () => {
    if (!settled) release().catch((error: unknown) => options.logger.error({ err: error }, 'idempotency key could not be released'));
  });
}

/**
 * Whether a response is kept for replay: the request ran (2xx) or the domain refused it
 * (403, 409). One turned away before it ran (bad body, missing or stale If-Match, no such
 * claim) or that failed with a fault releases the key, so the corrected request can run.
 */
const isKept = (status: number) => status < 400 || status === 403 || status === 409;

function headersOf(res: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.get(name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
