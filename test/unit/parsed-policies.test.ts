/**
 * The bundled policies parsed at build time (scripts/parsed-policies.ts writes the file,
 * src/rules/load-policy.ts reads it back): an entry answers only for the exact text it was made
 * from, for the build and Node that made it, and only when it is intact.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, parsePolicyAheadOfTime, readParsedPolicies } from '../../src/rules/load-policy';
import { BUNDLED_POLICY_DIR } from '../../src/simulate/policy-files';
import { parsedPoliciesFile } from '../../scripts/parsed-policies';

const FILE = join(BUNDLED_POLICY_DIR, 'cpor.yaml');
const TEXT = readFileSync(FILE, 'utf8');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

type Entries = Record<string, { digest: string; result: string }>;
const entriesOf = (file: string) => (JSON.parse(file) as { policies: Entries }).policies;
/** A file whose one entry for TEXT holds `edit` of the real load (its digest made to match). */
function withEntry(edit: (result: { policy: { version: string } }) => void, build = 'b1'): ReturnType<typeof readParsedPolicies> {
  const file = JSON.parse(parsedPoliciesFile([TEXT], build)) as { policies: Entries };
  const entry = file.policies[sha256(TEXT)]!;
  const result = JSON.parse(entry.result) as { policy: { version: string } };
  edit(result);
  entry.result = JSON.stringify(result);
  entry.digest = sha256(entry.result);
  return readParsedPolicies(JSON.stringify(file), build);
}

describe('policies parsed ahead of time', () => {
  it('the entry of a policy text holds exactly what parsing that text gives, frozen', () => {
    const parsed = readParsedPolicies(parsedPoliciesFile([TEXT], 'b1'), 'b1');
    const answered = parsePolicyAheadOfTime(TEXT, FILE, parsed);
    expect(answered).toEqual(parsePolicy(TEXT, FILE));
    expect(answered.ok && Object.isFrozen(answered.policy.calendar)).toBe(true);
  });

  it('a text with an entry is answered from it, not parsed again', () => {
    const parsed = withEntry((result) => (result.policy.version = 'from-the-entry'));
    const answered = parsePolicyAheadOfTime(TEXT, FILE, parsed);
    expect(answered.ok && answered.policy.version).toBe('from-the-entry');
  });

  it('a changed policy text is parsed, never answered from the entry of the text before', () => {
    const parsed = readParsedPolicies(parsedPoliciesFile([TEXT], 'b1'), 'b1');
    const changed = TEXT.replace('version: "2026.1"', 'version: "2026.1-changed"');
    expect(changed).not.toBe(TEXT);
    const answered = parsePolicyAheadOfTime(changed, FILE, parsed);
    expect(answered.ok && answered.policy.version).toBe('2026.1-changed');
  });

  it('a corrupt entry (its JSON changed after its digest, not JSON, not a passed load) is ignored: the text is parsed', () => {
    const file = JSON.parse(parsedPoliciesFile([TEXT], 'b1')) as { policies: Entries };
    const entry = file.policies[sha256(TEXT)]!;
    const variants: Array<{ digest: string; result: string }> = [
      { digest: entry.digest, result: entry.result.replace('"2026.1"', '"2026.9"') },
      { digest: sha256('{"ok":tru'), result: '{"ok":tru' },
      { digest: sha256('{"ok":false,"errors":[],"warnings":[]}'), result: '{"ok":false,"errors":[],"warnings":[]}' },
      { digest: sha256('{"ok":true,"warnings":[]}'), result: '{"ok":true,"warnings":[]}' },
    ];
    for (const variant of variants) {
      file.policies[sha256(TEXT)] = variant;
      const answered = parsePolicyAheadOfTime(TEXT, FILE, readParsedPolicies(JSON.stringify(file), 'b1'));
      expect(answered).toEqual(parsePolicy(TEXT, FILE));
    }
  });

  it('a file of another build or another Node, or that is not JSON, is not read', () => {
    const file = parsedPoliciesFile([TEXT], 'b1');
    expect(readParsedPolicies(file, 'b1')?.size).toBe(1);
    expect(readParsedPolicies(file, 'b2')).toBeNull();
    expect(readParsedPolicies(file, undefined)).toBeNull();
    expect(readParsedPolicies(file.replace(process.version, 'v0.0.1'), 'b1')).toBeNull();
    expect(readParsedPolicies(file.slice(0, file.length >> 1), 'b1')).toBeNull();
    expect(readParsedPolicies('null', 'b1')).toBeNull();
  });

  it('a policy that loads with warnings or errors gets no entry', () => {
    const broken = TEXT.replace('version: "2026.1"', 'version: 2026');
    expect(parsePolicy(broken, FILE).ok).toBe(false);
    expect(entriesOf(parsedPoliciesFile([broken], 'b1'))).toEqual({});
  });
});
