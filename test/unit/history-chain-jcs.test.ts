/**
 * The history hash is SHA-256 over RFC 8785 (JCS) canonical JSON. These are the RFC's own
 * examples, so anyone can check a chain with any JCS library; and the chains sealed before
 * the hash moved to a JCS library (test/fixtures/history-before-jcs) still verify.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli';
import type { HistoryEntry } from '../../src/claims/claim-record';
import { canonicalJson, hashEntry, verifyChain } from '../../src/claims/history-chain';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'history-before-jcs');
const chainsBeforeJcs = JSON.parse(readFileSync(join(FIXTURE, 'entries.json'), 'utf8')) as Record<string, HistoryEntry[]>;

/**
 * The canonical JSON the service hashed with before it used a JCS library (verbatim from
 * history-chain.ts at commit 2b2756c), kept here only to show that it is JCS on every JSON value.
 */
function legacyCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(legacyCanonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${legacyCanonicalJson(v)}`).join(',')}}`;
}

/** A double from its IEEE 754 bits, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 test vectors (the canonical JSON the history hash uses)', () => {
  it('section 3.2.2: the sample object (numbers, string escaping, literals)', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('section 3.2.2: its UTF-8 bytes, as the RFC lists them', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    const rfc = `7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
      75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
      65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
      30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`;
    expect(Buffer.from(canonicalJson(input), 'utf8').toString('hex')).toBe(rfc.replace(/\s+/g, ''));
  });

  it('section 3.2.3: properties sorted by UTF-16 code units, recursively', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // -0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('appendix B: the double %s serializes as %s', (bits, expected) => {
    expect(canonicalJson([fromBits(bits)])).toBe(`[${expected}]`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
  ])('appendix B: the double %s (%s) is refused, not hashed as null', (bits) => {
    expect(() => canonicalJson({ n: fromBits(bits) })).toThrow();
  });
});

describe('chains written before the hash used a JCS library', () => {
  const chains = Object.entries(chainsBeforeJcs);

  it('the fixture holds several claims and every kind of entry it was written with', () => {
    expect(chains.length).toBe(3);
    const events = new Set(chains.flatMap(([, chain]) => chain.map((entry) => entry.event)));
    expect([...events].sort()).toEqual(
      ['comment', 'create', 'decisionTargetDue', 'edit', 'requestInfo', 'resubmit', 'reviewDecisionDue', 'reviewStartDue', 'startReview', 'submit', 'uploadPoe', 'withdraw'],
    );
  });

  it.each(chains)('the chain of %s still verifies', (_id, chain) => {
    expect(verifyChain(chain)).toEqual({ ok: true, entries: chain.length });
  });

  it('each stored hash is SHA-256 over the JCS form of the entry without its hash', () => {
    for (const [, chain] of chains) {
      for (const { hash, ...content } of chain) {
        expect(createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex')).toBe(hash);
        expect(hashEntry({ ...content, hash })).toBe(hash);
      }
    }
  });

  it('the legacy canonical form equals JCS on every fixture entry, so no entry needs a hash scheme', () => {
    for (const [, chain] of chains) for (const entry of chain) expect(legacyCanonicalJson(entry)).toBe(canonicalJson(entry));
  });

  it('the legacy canonical form equals JCS on any JSON value (property test)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(legacyCanonicalJson(value)).toBe(canonicalJson(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('an entry of the fixture edited after the fact no longer verifies', () => {
    const chain = chainsBeforeJcs['claim-1']!.map((entry) => structuredClone(entry));
    chain[1] = { ...chain[1]!, payload: { ...chain[1]!.payload, fileName: 'Vertrag.pdf' } };
    expect(verifyChain(chain)).toMatchObject({ ok: false, seq: 2 });
  });
});

describe('cpor audit verify over the database written before the change', () => {
  const saved = { DATA_DIR: process.env.DATA_DIR, DATABASE_URL: process.env.DATABASE_URL };
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('every chain of the fixture database holds: exit 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cpor-jcs-'));
    copyFileSync(join(FIXTURE, 'cpor.sqlite'), join(dataDir, 'cpor.sqlite'));
    process.env.DATA_DIR = dataDir;
    delete process.env.DATABASE_URL;
    let out = '';
    const code = await main(['audit', 'verify'], { stdout: (s) => (out += s), stderr: (s) => (out += s) });
    expect(out).toContain('3 claims, 18 history entries checked: every chain holds');
    expect(code).toBe(0);
  });
});
