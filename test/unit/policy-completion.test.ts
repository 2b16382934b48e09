import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/rules/policy-schema';
import { keyAtCursor, keysAt } from '../../web/src/views/console/policy-completion';

/** keyAtCursor at the `|` of `text` (the bar removed). */
const at = (text: string) => keyAtCursor(text.replace('|', ''), text.indexOf('|'));
const keys = (text: string) => {
  const found = at(text);
  return found ? keysAt(policySchema, found.path).map((k) => k.key) : [];
};

describe("the policy editor's key completion", () => {
  it('finds the path of mappings and list items at the cursor from indentation', () => {
    expect(at('id: cpor\nver|')).toEqual({ from: 9, path: [] });
    expect(at('deadlines:\n  partnerResponse:\n    runsIn: [a]\n    bus|')!.path).toEqual(['deadlines', 'partnerResponse']);
    expect(at('rejectionReasons:\n  - code: x\n    usableBy: [reviewer]\n    |')!.path).toEqual(['rejectionReasons', { item: true }]);
    expect(at('rejectionReasons:\n  - |')!.path).toEqual(['rejectionReasons', { item: true }]);
    expect(at('calendar:\n  # a comment\n\n  time|')!.path).toEqual(['calendar']);
    expect(at('id: cpor\nname: x y|')).toBeUndefined();
  });

  it('offers the keys the schema allows there: top level, a deadline, a list item, a condition', () => {
    expect(keys('|')).toEqual(expect.arrayContaining(['id', 'version', 'effective', 'shadow', 'calendar', 'deadlines']));
    expect(keys('calendar:\n  |')).toEqual(expect.arrayContaining(['timeZone', 'workweek', 'holidays']));
    expect(keys('deadlines:\n  partnerResponse:\n    |')).toEqual(expect.arrayContaining(['runsIn', 'businessDays', 'onDue', 'pausedIn']));
    expect(keys('deadlines:\n  partnerResponse:\n    |')).not.toContain('timeZone');
    expect(keys('rejectionReasons:\n  - |')).toEqual(expect.arrayContaining(['code', 'usableBy']));
    expect(keys('submissionRequirements:\n  - code: x\n    when:\n      |')).toEqual(expect.arrayContaining(['all', 'any', 'fact']));
  });

  it('describes each key from the schema', () => {
    const top = keysAt(policySchema, []);
    expect(top.find((k) => k.key === 'shadow')?.description).toMatch(/shadow/);
  });
});
