import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../src/calendar/calendar';
import { backtestCommand } from '../../src/cli/backtest-command';
import { evaluateCommand } from '../../src/cli/evaluate-command';
import type { Output } from '../../src/cli/output';
import { parsePolicy } from '../../src/rules/load-policy';
import { bundledPolicyText } from '../support/policy-factory';

function buffer(): Output & { err: string } {
  const out = { err: '', stdout: () => undefined, stderr: (text: string) => void (out.err += text) };
  return out;
}

describe('instants and dates given as input are read by the one strict reader', () => {
  it.each(['2026-02-30T09:00:00Z', '2026-03-02T09:00:00+19:00', '1969-12-31T23:00:00Z'])('cpor evaluate refuses --as-of %s as a usage error', async (asOf) => {
    const out = buffer();
    expect(await evaluateCommand('no-such-input.yaml', { asOf }, out)).toBe(2);
    expect(out.err).toBe(`cpor evaluate: --as-of must be an ISO-8601 instant with a time zone (2026-03-10T09:00:00Z), not "${asOf}"\n`);
  });

  it.each(['2026-02-30T00:00:00Z', '2026-06-01T24:00:00Z'])('cpor backtest refuses --until %s as a usage error', async (until) => {
    const out = buffer();
    expect(await backtestCommand({ policy: 'no-such-policy.yaml', until }, out)).toBe(2);
    expect(out.err).toBe(`cpor backtest: --until must be an ISO-8601 instant with a time zone (2026-06-01T00:00:00Z), not "${until}"\n`);
  });

  it.each(['1969-12-31', '2026-02-30T00:00:00Z'])('cpor backtest refuses --since %s as a usage error', async (since) => {
    const out = buffer();
    expect(await backtestCommand({ policy: 'no-such-policy.yaml', since }, out)).toBe(2);
    expect(out.err).toBe(`cpor backtest: --since must be a date (2026-03-01) or an ISO-8601 instant, not "${since}"\n`);
  });

  it('a policy holiday outside the years instants are read in is not a date in the calendar', () => {
    const text = bundledPolicyText().replace('    - 2026-01-01 # New Year', '    - 1969-12-25 # New Year');
    expect(text).toContain('1969-12-25');
    const result = parsePolicy(text, 'policies/test.yaml');
    expect(result.ok ? [] : result.errors.map((e) => [e.code, e.path])).toEqual([['invalidDate', '$.calendar.holidays[0]']]);
  });

  it('the calendar refuses an instant string with an impossible date or offset', () => {
    const calendar = createCalendar({ timeZone: 'UTC', workweek: ['mon', 'tue', 'wed', 'thu', 'fri'], holidays: [] });
    expect(() => calendar.localDate('2026-02-30T09:00:00Z')).toThrow(RangeError);
    expect(() => calendar.localDate('2026-03-02T09:00:00+19:00')).toThrow(RangeError);
    expect(calendar.localDate('2026-03-02T23:30:00-01:00')).toBe('2026-03-03');
  });
});
