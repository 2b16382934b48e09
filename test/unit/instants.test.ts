import { describe, expect, it } from 'vitest';
import { nextLocalDate, parseInstant, parseInstantOrDate, parseLocalDate } from '../../src/domain/instants';

describe('strict instants', () => {
  it.each([
    ['2026-03-02T09:00Z', '2026-03-02T09:00:00.000Z'],
    ['2026-03-02T09:00:30.5+01:00', '2026-03-02T08:00:30.500Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['2026-03-02T09:00:00+18:00', '2026-03-01T15:00:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    const parsed = parseInstant(text);
    expect(parsed.ok && parsed.value.toISOString()).toBe(iso);
  });

  it.each([
    ['2026-13-01T00:00Z', /month/],
    ['2026-02-30T00:00Z', /2026-02 has 28 days/],
    ['2027-02-29T00:00Z', /28 days/],
    ['2026-03-02T00:00+99:59', /offset/],
    ['2026-03-02T00:00+18:01', /offset/],
    ['0001-03-02T00:00Z', /year/],
    ['10000-01-01T00:00Z', /ISO-8601/],
    ['9999-12-31T23:00-05:00', /year/],
    ['2026-03-02T24:00Z', /time/],
    ['2026-03-02T23:60Z', /time/],
    ['2026-03-02T09:00', /ISO-8601/],
    ['yesterday', /ISO-8601/],
  ])('refuses %s, saying why', (text, why) => {
    const parsed = parseInstant(text);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toMatch(why);
  });
});

describe('strict local dates', () => {
  it('reads a real date', () => expect(parseLocalDate('2024-02-29')).toEqual({ ok: true, value: '2024-02-29' }));
  it.each(['2026-02-30', '2026-13-01', '2026-04-31', '0001-01-01', '2026-3-1', '2026-03-02T00:00Z'])('refuses %s', (text) => {
    expect(parseLocalDate(text).ok).toBe(false);
  });
});

describe('parseInstantOrDate', () => {
  it('reads an instant or a local date, and says which', () => {
    expect(parseInstantOrDate('2026-03-10T07:00:00Z')).toEqual({ ok: true, value: { instant: new Date('2026-03-10T07:00:00Z') } });
    expect(parseInstantOrDate('2026-03-10')).toEqual({ ok: true, value: { date: '2026-03-10' } });
  });

  it("refuses what is neither, with the stricter reader's problem", () => {
    expect(parseInstantOrDate('2026-02-30')).toMatchObject({ ok: false, problem: expect.stringContaining('has 28 days') });
    expect(parseInstantOrDate('2026-03-10T25:00Z')).toMatchObject({ ok: false, problem: expect.stringContaining('00:00:00 to 23:59:59') });
    expect(parseInstantOrDate('yesterday')).toMatchObject({ ok: false });
  });
});

describe('nextLocalDate', () => {
  it('is the day after, across months, leap days and years', () => {
    expect(nextLocalDate('2026-03-10')).toBe('2026-03-11');
    expect(nextLocalDate('2028-02-28')).toBe('2028-02-29');
    expect(nextLocalDate('2026-12-31')).toBe('2027-01-01');
  });

  it('is undefined after the last date an input may name', () => {
    expect(nextLocalDate('9999-12-31')).toBeUndefined();
  });
});
