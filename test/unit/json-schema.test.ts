import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAjv, describeWithValue } from '../../src/domain/json-schema';
import { parseInstant } from '../../src/domain/instants';
import { parsePolicy } from '../../src/rules/load-policy';
import { bundledPolicyText } from '../support/policy-factory';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const policyWithEffective = (effective: string) =>
  parsePolicy(bundledPolicyText().replace('effective: 2026-01-01T00:00:00Z', `effective: "${effective}"`), 'policies/test.yaml');

describe('one owner of JSON Schema validation', () => {
  it('only src/domain/json-schema.ts constructs an ajv instance or adds formats to one', () => {
    const owners = sourceFiles(SRC)
      .filter((file) => /new Ajv\w*\(|from 'ajv-formats'|addStrictTimeFormats\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(owners.sort()).toEqual(['domain/instants.ts', 'domain/json-schema.ts']);
  });

  it('reads date-time and date with the strict readers in every validator it makes', () => {
    const validate = createAjv().compile({
      type: 'object',
      properties: { at: { type: 'string', format: 'date-time' }, on: { type: 'string', format: 'date' } },
    });
    expect(validate({ at: '2026-03-02T09:00Z', on: '2026-02-28' })).toBe(true);
    expect(validate({ at: '1969-12-31T23:00:00Z' })).toBe(false);
    expect(describeWithValue(validate.errors?.[0], { at: '1969-12-31T23:00:00Z' })).toEqual({
      path: '$.at',
      message: 'is not a real instant: the year must be 1970 to 9999',
    });
    expect(validate({ on: '2026-02-30' })).toBe(false);
  });

  it.each(['2026-01-01T00:00Z', '2026-01-01T00:00:00.5+01:00', '1969-12-31T00:00:00Z', '2026-01-01T00:00:00+19:00', '2026-02-29T00:00:00Z'])(
    'a policy effective instant %s is accepted exactly when the one instant reader accepts it',
    (instant) => {
      expect(policyWithEffective(instant).ok).toBe(parseInstant(instant).ok);
    },
  );

  it('says what is impossible about a well-formed policy effective instant', () => {
    const result = policyWithEffective('1969-12-31T00:00:00Z');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.code, e.path, e.message])).toEqual([
      ['schema', '$.effective', '"1969-12-31T00:00:00Z" is not a real instant: the year must be 1970 to 9999.'],
    ]);
  });
});
