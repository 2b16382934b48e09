import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature, webhookSecretKey } from '../../src/outbox/webhook-signature';

// The Standard Webhooks reference test vector.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const AT = new Date(TIMESTAMP * 1000);

const headers = (overrides: Record<string, string> = {}) => ({
  'webhook-id': ID,
  'webhook-timestamp': String(TIMESTAMP),
  'webhook-signature': SIGNATURE,
  ...overrides,
});

describe('signWebhook', () => {
  it('matches the Standard Webhooks reference signature', () => {
    expect(signWebhook(SECRET, ID, TIMESTAMP, BODY)).toBe(SIGNATURE);
  });

  it('uses a secret without the whsec_ prefix as UTF-8 bytes', () => {
    expect(webhookSecretKey('plain-secret')).toEqual(Buffer.from('plain-secret'));
    expect(signWebhook('plain-secret', ID, TIMESTAMP, BODY)).not.toBe(SIGNATURE);
  });
});

describe('verifyWebhookSignature', () => {
  it('accepts the reference message, from a plain object, a Headers instance or a Buffer body', () => {
    expect(verifyWebhookSignature(SECRET, headers(), BODY, 300, AT)).toBe(true);
    expect(verifyWebhookSignature(SECRET, new Headers(headers()), Buffer.from(BODY), 300, AT)).toBe(true);
    expect(verifyWebhookSignature(SECRET, { 'Webhook-Id': ID, 'Webhook-Timestamp': String(TIMESTAMP), 'Webhook-Signature': SIGNATURE }, BODY, 300, AT)).toBe(true);
  });

  it('accepts when any one of several space-separated signatures matches (key rotation)', () => {
    const rotated = headers({ 'webhook-signature': `v1,Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg= v2,abc ${SIGNATURE}` });
    expect(verifyWebhookSignature(SECRET, rotated, BODY, 300, AT)).toBe(true);
  });

  it.each([
    ['a changed body', headers(), '{"test": 2432232315}'],
    ['a changed id', headers({ 'webhook-id': 'msg_other' }), BODY],
    ['a changed timestamp', headers({ 'webhook-timestamp': String(TIMESTAMP + 1) }), BODY],
    ['a v2 signature', headers({ 'webhook-signature': SIGNATURE.replace('v1,', 'v2,') }), BODY],
    ['a truncated signature', headers({ 'webhook-signature': SIGNATURE.slice(0, 20) }), BODY],
    ['no signature', headers({ 'webhook-signature': '' }), BODY],
    ['a non-numeric timestamp', headers({ 'webhook-timestamp': '1614265330.5' }), BODY],
  ])('refuses %s', (_label, given, body) => {
    expect(verifyWebhookSignature(SECRET, given, body, 300, AT)).toBe(false);
  });

  it('refuses another secret', () => {
    expect(verifyWebhookSignature('whsec_c2Vjb25kLXNlY3JldC1ieXRlcw==', headers(), BODY, 300, AT)).toBe(false);
  });

  it('refuses a timestamp outside the tolerance, either way', () => {
    expect(verifyWebhookSignature(SECRET, headers(), BODY, 300, new Date(AT.getTime() + 300_000))).toBe(true);
    expect(verifyWebhookSignature(SECRET, headers(), BODY, 300, new Date(AT.getTime() + 301_000))).toBe(false);
    expect(verifyWebhookSignature(SECRET, headers(), BODY, 300, new Date(AT.getTime() - 301_000))).toBe(false);
    expect(verifyWebhookSignature(SECRET, headers(), BODY, 3600, new Date(AT.getTime() + 301_000))).toBe(true);
  });

  it('uses the current time by default', () => {
    expect(verifyWebhookSignature(SECRET, headers(), BODY)).toBe(false);
    const now = Math.floor(Date.now() / 1000);
    const fresh = headers({ 'webhook-timestamp': String(now), 'webhook-signature': signWebhook(SECRET, ID, now, BODY) });
    expect(verifyWebhookSignature(SECRET, fresh, BODY)).toBe(true);
  });
});
