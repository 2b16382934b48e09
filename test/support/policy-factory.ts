/**
 * Policy test data: the bundled policy, and variants of it built from overrides
 * (so each test states only what it changes).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const BUNDLED_POLICY_PATH = fileURLToPath(new URL('../../policies/cpor.yaml', import.meta.url));

/** The text of `policies/cpor.yaml`. */
export function bundledPolicyText(): string {
  return readFileSync(BUNDLED_POLICY_PATH, 'utf8');
}

/** A fresh, mutable copy of the bundled policy as plain data. */
export function bundledPolicyData(): Record<string, unknown> {
  return parse(bundledPolicyText()) as Record<string, unknown>;
}

/**
 * Overrides merged into the bundled policy: mappings merge key by key, other
 * values replace, `undefined` removes a key. A mapping with numeric keys edits
 * list items in place (`{ rejectionReasons: { 0: { usableBy: [] } } }`).
 */
export type PolicyOverrides = Record<string, unknown>;

/** The bundled policy with overrides, as YAML text (one value per line, no folding, no anchors). */
export function policyYaml(overrides: PolicyOverrides = {}): string {
  return stringify(merge(bundledPolicyData(), overrides), { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * 1-based line and column of the nth occurrence of `needle` in `text` (throws if
 * absent). A `^` in the needle marks the position within it: `'runsIn: [^foo'`.
 */
export function positionOf(text: string, needle: string, occurrence = 1): { line: number; column: number } {
  const mark = Math.max(needle.indexOf('^'), 0);
  needle = needle.replace('^', '');
  let offset = -1;
  for (let n = 0; n < occurrence; n++) {
    offset = text.indexOf(needle, offset + 1);
    if (offset < 0) throw new Error(`${JSON.stringify(needle)} (occurrence ${occurrence}) is not in the text`);
  }
  const before = text.slice(0, offset + mark).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function merge(base: unknown, override: unknown): unknown {
  if (Array.isArray(base) && isMapping(override) && Object.keys(override).every((k) => /^\d+$/.test(k))) {
    const copy = [...base];
    for (const [index, value] of Object.entries(override)) copy[Number(index)] = merge(copy[Number(index)], value);
    return copy;
  }
  if (isMapping(base) && isMapping(override)) {
    const copy: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
      if (value === undefined) delete copy[key];
      else copy[key] = merge(copy[key], value);
    }
    return copy;
  }
  return override;
}
