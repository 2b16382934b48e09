/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature: v1,<base64>`,
 * the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Request headers as node:http, fetch or a plain object hold them. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Five minutes either way, as the Standard Webhooks libraries default to. */
const DEFAULT_TOLERANCE_SEC = 300;
const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a secret: a `whsec_<base64>` secret (the Standard Webhooks format, which their
 * receiver libraries expect) is its decoded bytes; any other string is its UTF-8 bytes.
 */
export function webhookSecretKey(secret: string): Buffer {
  if (secret.startsWith(SECRET_PREFIX)) {
    const encoded = secret.slice(SECRET_PREFIX.length);
    const key = Buffer.from(encoded, 'base64');
    if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
      throw new Error('A webhook secret that starts with whsec_ must continue with base64 bytes.');
    }
    return key;
  }
  if (secret === '') throw new Error('The webhook secret is empty.');
  return Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', webhookSecretKey(secret)).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * Whether a received webhook is authentic and fresh: one of the space-separated `v1,` signatures
 * matches, and `webhook-timestamp` is within `toleranceSec` of `now`. Pass the raw body, unparsed.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
  now: Date = new Date(),
): boolean {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > toleranceSec) return false;
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const expected = Buffer.from(signWebhook(secret, id, Number(timestamp), text).slice(3), 'base64');
  return signatures.split(' ').some((candidate) => {
    const [version, mac] = candidate.split(',', 2);
    if (version !== 'v1' || !mac) return false;
    const given = Buffer.from(mac, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(' ') : (value as string | undefined);
}
