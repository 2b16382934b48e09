import { describe, expect, it } from 'vitest';
import type { CalendarPolicy, Weekday } from '../../src/rules/policy-types';
import {
  createCalendar,
  dueDateFor,
  extendDueDate,
  fallsDueAt,
  type Calendar,
} from '../../src/calendar/index';

// The bundled policy's calendar (policies/cpor.yaml): US federal holidays as observed, 2026–2027.
const US_FEDERAL_HOLIDAYS_2026_2027 = [
  '2026-01-01', '2026-01-19', '2026-02-16', '2026-05-25', '2026-06-19', '2026-07-03',
  '2026-09-07', '2026-10-12', '2026-11-11', '2026-11-26', '2026-12-25',
  '2027-01-01', '2027-01-18', '2027-02-15', '2027-05-31', '2027-06-18', '2027-07-05',
  '2027-09-06', '2027-10-11', '2027-11-11', '2027-11-25', '2027-12-24', '2027-12-31',
];
const MON_TO_FRI: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];
const SUN_TO_THU: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu'];
// Thu 2026-04-02 and Sun 2026-04-05 are workdays; Fri 2026-04-03 is already a weekend day.
const SUN_TO_THU_HOLIDAYS = ['2026-04-02', '2026-04-03', '2026-04-05'];

function calendarPolicy(overrides: Partial<CalendarPolicy> = {}): CalendarPolicy {
  return {
    timeZone: 'America/Los_Angeles',
    workweek: MON_TO_FRI,
    holidays: US_FEDERAL_HOLIDAYS_2026_2027,
    ...overrides,
  };
}

const bundled = createCalendar(calendarPolicy());
const utc = createCalendar(calendarPolicy({ timeZone: 'UTC', holidays: [] }));
const sunToThu = createCalendar(
  calendarPolicy({ timeZone: 'Asia/Jerusalem', workweek: SUN_TO_THU, holidays: SUN_TO_THU_HOLIDAYS }),
);

const iso = (instant: Date): string => instant.toISOString();

// ---- an independent, day-by-day reference (no week jumps, no binary search) ----

const WEEKDAYS: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function referenceCalendar(workweek: Weekday[], holidays: string[]) {
  const workdays = new Set(workweek);
  const holidaySet = new Set(holidays);
  const shift = (date: string, days: number): string => {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  };
  const isValid = (date: string): boolean =>
    workdays.has(WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()]!) && !holidaySet.has(date);
  return {
    offset(date: string, n: number): string {
      let d = date;
      while (!isValid(d)) d = shift(d, -1);
      for (let left = Math.abs(n); left > 0; ) {
        d = shift(d, Math.sign(n));
        if (isValid(d)) left--;
      }
      return d;
    },
    /** [from, to) forwards; backwards -(to, from], as numpy >= 1.25. */
    count(from: string, to: string): number {
      const [lo, hi, sign] = from <= to ? [from, to, 1] : [shift(to, 1), shift(from, 1), -1];
      let count = 0;
      for (let d = lo; d < hi; d = shift(d, 1)) if (isValid(d)) count++;
      return count === 0 ? 0 : sign * count; // never -0
    },
    shift,
  };
}

/** mulberry32: a seeded generator, so the sampled cases are the same on every run. */
function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('createCalendar', () => {
  it('keeps the policy time zone name', () => {
    expect(bundled.timeZone).toBe('America/Los_Angeles');
  });

  it('throws on an unknown IANA time zone', () => {
    expect(() => createCalendar(calendarPolicy({ timeZone: 'America/Springfield' }))).toThrow(
      /time zone "America\/Springfield" is not a known IANA time zone/,
    );
    expect(() => createCalendar(calendarPolicy({ timeZone: '' }))).toThrow(/time zone/);
  });

  it.each(['2026-02-30', '2026-7-3', '2026-13-01', '07/03/2026', '2026-07-03T00:00:00Z'])(
    'throws on the malformed holiday %s',
    (holiday) => {
      expect(() => createCalendar(calendarPolicy({ holidays: [holiday] }))).toThrow(
        /holiday .* is not a valid YYYY-MM-DD date/,
      );
    },
  );

  it('throws on an empty workweek', () => {
    expect(() => createCalendar(calendarPolicy({ workweek: [] }))).toThrow(/workweek is empty/);
  });

  it('throws on an unknown weekday', () => {
    expect(() => createCalendar(calendarPolicy({ workweek: ['mon', 'funday' as Weekday] }))).toThrow(
      /unknown weekday "funday"/,
    );
  });
});

describe('localDate', () => {
  it('reads 2026-03-02T06:30:00Z as 2026-03-01 in Los Angeles (22:30 PST) and 2026-03-02 in UTC', () => {
    expect(bundled.localDate('2026-03-02T06:30:00Z')).toBe('2026-03-01');
    expect(utc.localDate('2026-03-02T06:30:00Z')).toBe('2026-03-02');
  });

  it('accepts a Date and an ISO string with an explicit offset', () => {
    expect(bundled.localDate(new Date('2026-03-02T06:30:00Z'))).toBe('2026-03-01');
    expect(bundled.localDate('2026-03-01T23:30:00-05:00')).toBe('2026-03-01'); // 04:30Z on 03-02 = 20:30 PST
  });

  it('changes date exactly at local midnight (08:00Z in PST)', () => {
    expect(bundled.localDate('2026-03-02T07:59:59.999Z')).toBe('2026-03-01');
    expect(bundled.localDate('2026-03-02T08:00:00.000Z')).toBe('2026-03-02');
  });

  it('follows the DST offset: midnight is 07:00Z in PDT and 08:00Z again after fall back', () => {
    expect(bundled.localDate('2026-03-08T10:00:00Z')).toBe('2026-03-08'); // 03:00 PDT, just after the jump
    expect(bundled.localDate('2026-03-09T06:59:59Z')).toBe('2026-03-08');
    expect(bundled.localDate('2026-03-09T07:00:00Z')).toBe('2026-03-09');
    expect(bundled.localDate('2026-11-01T09:30:00Z')).toBe('2026-11-01'); // the second 01:30, PST
    expect(bundled.localDate('2026-11-02T07:59:00Z')).toBe('2026-11-01');
    expect(bundled.localDate('2026-11-02T08:00:00Z')).toBe('2026-11-02');
  });

  it.each(['2026-03-02T06:30:00', '2026-03-02', 'yesterday', ''])(
    'throws on %j, which is not an instant with an offset',
    (instant) => {
      expect(() => bundled.localDate(instant)).toThrow(RangeError);
    },
  );

  it('throws on an invalid Date', () => {
    expect(() => bundled.localDate(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('startOfLocalDay', () => {
  it.each([
    ['2026-03-07', '2026-03-07T08:00:00.000Z'], // PST
    ['2026-03-08', '2026-03-08T08:00:00.000Z'], // midnight is before the 02:00 jump: still PST
    ['2026-03-09', '2026-03-09T07:00:00.000Z'], // PDT
    ['2026-11-01', '2026-11-01T07:00:00.000Z'], // midnight is before the 02:00 fall back: still PDT
    ['2026-11-02', '2026-11-02T08:00:00.000Z'], // PST
  ])('starts %s in Los Angeles at %s', (date, expected) => {
    expect(iso(bundled.startOfLocalDay(date))).toBe(expected);
  });

  it('starts a UTC day at 00:00Z', () => {
    expect(iso(utc.startOfLocalDay('2026-03-08'))).toBe('2026-03-08T00:00:00.000Z');
  });

  it('starts a day whose midnight is skipped at the transition (01:00 local)', () => {
    // Santiago jumps 00:00 -04 → 01:00 -03 on 2026-09-06; Beirut 00:00 +02 → 01:00 +03 on 2026-03-29.
    const santiago = createCalendar(calendarPolicy({ timeZone: 'America/Santiago' }));
    const beirut = createCalendar(calendarPolicy({ timeZone: 'Asia/Beirut' }));
    expect(iso(santiago.startOfLocalDay('2026-09-06'))).toBe('2026-09-06T04:00:00.000Z');
    expect(iso(beirut.startOfLocalDay('2026-03-29'))).toBe('2026-03-28T22:00:00.000Z');
  });

  it('starts a day whose midnight happens twice at the first midnight', () => {
    // The Azores fall back 01:00 +00 → 00:00 -01 on 2026-10-25: 00:00 is at 00:00Z and again at 01:00Z.
    const azores = createCalendar(calendarPolicy({ timeZone: 'Atlantic/Azores' }));
    expect(iso(azores.startOfLocalDay('2026-10-25'))).toBe('2026-10-25T00:00:00.000Z');
  });

  it('starts a day that follows a fall back at midnight at its only midnight', () => {
    // Santiago falls back 00:00 -03 → 23:00 -04 on 2026-04-05: 00:00 on the 5th happens once, at 04:00Z.
    const santiago = createCalendar(calendarPolicy({ timeZone: 'America/Santiago' }));
    expect(iso(santiago.startOfLocalDay('2026-04-05'))).toBe('2026-04-05T04:00:00.000Z');
  });

  it('is the first instant of its local date for every day of 2026 and 2027 in Los Angeles', () => {
    for (let date = '2026-01-01'; date < '2028-01-01'; date = bundled.addDays(date, 1)) {
      const start = bundled.startOfLocalDay(date).getTime();
      expect(bundled.localDate(new Date(start))).toBe(date);
      expect(bundled.localDate(new Date(start - 1))).toBe(bundled.addDays(date, -1));
    }
  });

  it('returns a new Date each time, so mutating one does not change the next', () => {
    const first = bundled.startOfLocalDay('2026-05-01');
    first.setTime(0);
    expect(iso(bundled.startOfLocalDay('2026-05-01'))).toBe('2026-05-01T07:00:00.000Z');
  });
});

describe('isBusinessDay', () => {
  it.each([
    ['2026-03-06', true, 'a Friday'],
    ['2026-03-07', false, 'a Saturday'],
    ['2026-03-08', false, 'a Sunday'],
    ['2026-07-03', false, 'Independence Day observed (a Friday)'],
    ['2026-11-26', false, 'Thanksgiving (a Thursday)'],
    ['2026-11-27', true, 'the Friday after Thanksgiving'],
  ])('isBusinessDay(%s) is %s in the bundled calendar (%s)', (date, expected) => {
    expect(bundled.isBusinessDay(date)).toBe(expected);
  });

  it('follows a Sunday-to-Thursday workweek', () => {
    expect(sunToThu.isBusinessDay('2026-03-08')).toBe(true); // Sunday
    expect(sunToThu.isBusinessDay('2026-03-06')).toBe(false); // Friday
    expect(sunToThu.isBusinessDay('2026-03-07')).toBe(false); // Saturday
    expect(sunToThu.isBusinessDay('2026-04-05')).toBe(false); // a Sunday holiday
  });

  it('throws on a date that does not exist', () => {
    expect(() => bundled.isBusinessDay('2026-02-29')).toThrow(/Not a valid YYYY-MM-DD date/);
  });
});

// Expected values from numpy 2.4.6:
//   busday_offset(date, n, roll='backward', weekmask='1111100' | '1111001', holidays=…)
//   busday_count(from, to, weekmask=…, holidays=…)
describe('addBusinessDays matches numpy busday_offset(roll=backward)', () => {
  const bundledRows: Array<[string, number, string, string]> = [
    ['2026-11-20', 5, '2026-11-30', 'Thanksgiving week: Mon, Tue, Wed, (Thu holiday), Fri, Mon'],
    ['2026-11-25', 1, '2026-11-27', 'the day after Wednesday is Thanksgiving, so Friday'],
    ['2026-07-02', 1, '2026-07-06', 'July 3 (observed) and the weekend are skipped'],
    ['2026-07-03', 0, '2026-07-02', 'a holiday start rolls back to Thursday; n=0 stops there'],
    ['2026-07-03', 1, '2026-07-06', 'rolled back to Thursday, then one business day'],
    ['2026-07-04', 0, '2026-07-02', 'Saturday rolls back over the Friday holiday'],
    ['2026-03-07', 0, '2026-03-06', 'Saturday with n=0 rolls back to Friday'],
    ['2026-03-07', 1, '2026-03-09', 'Saturday: Friday + 1 = Monday'],
    ['2026-03-08', 5, '2026-03-13', 'Sunday: Friday + 5 = next Friday'],
    ['2026-07-06', -1, '2026-07-02', 'one back from Monday skips the weekend and July 3'],
    ['2026-11-30', -5, '2026-11-20', 'back across Thanksgiving week'],
    ['2026-03-08', -1, '2026-03-05', 'Sunday rolls back to Friday, then one back to Thursday'],
    ['2026-12-24', 5, '2027-01-04', 'skips Christmas and New Year 2027'],
    ['2027-12-23', 1, '2027-12-27', 'Christmas observed on Friday 2027-12-24'],
    ['2027-12-30', 1, '2028-01-03', 'New Year 2028 observed on Friday 2027-12-31'],
    ['2026-01-16', 1, '2026-01-20', 'MLK Day'],
    ['2026-01-01', 0, '2025-12-31', 'a holiday start can roll back into the previous year'],
    ['2026-01-01', 250, '2026-12-31', '2026 has 250 business days'],
    ['2027-12-31', -250, '2026-12-30', 'rolls back to 2027-12-30, then back 250 (2027 has 249)'],
    ['2026-06-15', 10, '2026-06-30', 'Juneteenth'],
    ['2026-02-28', -3, '2026-02-24', 'Saturday to Friday 27th, then back 3'],
    ['2026-03-11', 0, '2026-03-11', 'n=0 on a business day is the day itself'],
  ];
  it.each(bundledRows)('bundled: busday_offset(%s, %i) = %s (%s)', (date, n, expected) => {
    expect(bundled.addBusinessDays(date, n)).toBe(expected);
  });

  const sunToThuRows: Array<[string, number, string, string]> = [
    ['2026-03-06', 0, '2026-03-05', 'Friday is a weekend day: back to Thursday'],
    ['2026-03-06', 1, '2026-03-08', 'Friday: Thursday + 1 = Sunday'],
    ['2026-03-07', 1, '2026-03-08', 'Saturday: Thursday + 1 = Sunday'],
    ['2026-03-05', 1, '2026-03-08', 'Thursday + 1 = Sunday'],
    ['2026-04-01', 1, '2026-04-06', 'Thursday and Sunday holidays around the weekend'],
    ['2026-04-03', 1, '2026-04-06', 'Friday rolls back over Thursday holiday to Wednesday'],
    ['2026-04-05', -1, '2026-03-31', 'Sunday holiday rolls back to Wednesday, then Tuesday'],
    ['2026-03-08', -1, '2026-03-05', 'Sunday - 1 = Thursday'],
    ['2026-03-01', 20, '2026-03-29', 'four whole weeks'],
  ];
  it.each(sunToThuRows)('Sunday-to-Thursday: busday_offset(%s, %i) = %s (%s)', (date, n, expected) => {
    expect(sunToThu.addBusinessDays(date, n)).toBe(expected);
  });

  it.each([1.5, Number.NaN, Number.POSITIVE_INFINITY])('throws on the offset %s', (n) => {
    expect(() => bundled.addBusinessDays('2026-03-02', n)).toThrow(RangeError);
  });
});

describe('countBusinessDays matches numpy busday_count', () => {
  const bundledRows: Array<[string, string, number, string]> = [
    ['2026-11-23', '2026-11-30', 4, 'Thanksgiving week: Mon–Fri less Thursday'],
    ['2026-11-30', '2026-11-23', -4, 'backwards: -(24, 25, 27, 30)'],
    ['2026-11-26', '2026-11-26', 0, 'an empty range'],
    ['2026-03-11', '2026-03-11', 0, 'an empty range on a business day'],
    ['2026-03-07', '2026-03-09', 0, 'a weekend'],
    ['2026-07-03', '2026-07-06', 0, 'a holiday and a weekend'],
    ['2026-07-02', '2026-07-07', 2, 'Thursday and Monday'],
    ['2026-03-06', '2026-03-09', 1, 'the end date is excluded'],
    ['2026-01-01', '2027-01-01', 250, '261 weekdays less 11 holidays'],
    ['2027-01-01', '2028-01-01', 249, '261 weekdays less 12 holidays'],
    ['2026-12-24', '2027-01-05', 6, 'Dec 24, 28–31, Jan 4'],
    ['2027-01-05', '2026-12-24', -6, 'the same range backwards'],
    // Backwards numpy (>= 1.25, numpy/numpy#23197) counts (to, from]: the later date in, the earlier out.
    ['2026-03-07', '2026-03-06', 0, 'backwards from Saturday to Friday: (Fri, Sat] holds no business day'],
    ['2026-03-09', '2026-03-07', -1, 'backwards from Monday to Saturday: (Sat, Mon] holds Monday'],
    ['2026-07-06', '2026-07-03', -1, 'backwards from Monday to the July 3 holiday: Monday'],
    ['2000-01-01', '1999-12-30', -1, "numpy issue 23197's example: (Thu, Sat] holds Friday"],
  ];
  it.each(bundledRows)('bundled: busday_count(%s, %s) = %i (%s)', (from, to, expected) => {
    expect(bundled.countBusinessDays(from, to)).toBe(expected);
  });

  const sunToThuRows: Array<[string, string, number, string]> = [
    ['2026-03-01', '2026-03-08', 5, 'one whole week'],
    ['2026-03-06', '2026-03-08', 0, 'Friday and Saturday'],
    ['2026-03-29', '2026-04-12', 8, 'two weeks less the Thursday and Sunday holidays'],
    ['2026-04-12', '2026-03-29', -8, 'the same range backwards'],
  ];
  it.each(sunToThuRows)('Sunday-to-Thursday: busday_count(%s, %s) = %i (%s)', (from, to, expected) => {
    expect(sunToThu.countBusinessDays(from, to)).toBe(expected);
  });
});

describe('bundled calendar matches numpy on sampled dates (numpy 2.4.6, random.seed(2026))', () => {
  // [date, n, busday_offset(date, n, roll='backward'), to, busday_count(date, to)]
  const rows: Array<[string, number, string, string, number]> = [
    ['2026-04-01', 0, '2026-04-01', '2026-04-05', 3],
    ['2027-05-09', -27, '2027-03-31', '2027-07-01', 36],
    ['2026-07-17', 36, '2026-09-08', '2026-08-05', 13],
    ['2027-06-23', 13, '2027-07-13', '2027-08-02', 27],
    ['2027-07-10', 30, '2027-08-20', '2027-08-26', 33],
    ['2027-12-19', 22, '2028-01-20', '2028-01-24', 23],
    ['2027-07-24', 16, '2027-08-16', '2027-06-24', -20],
    ['2025-12-03', 38, '2026-01-28', '2025-10-14', -36],
    ['2026-03-24', -4, '2026-03-18', '2026-05-07', 32],
    ['2026-03-11', 17, '2026-04-03', '2026-01-11', -41],
    ['2027-11-02', 22, '2027-12-06', '2027-11-28', 17],
    ['2026-10-18', -14, '2026-09-25', '2026-10-08', -5],
    ['2026-08-15', 4, '2026-08-20', '2026-10-12', 39],
    ['2026-12-01', 8, '2026-12-11', '2027-01-05', 23],
    ['2027-05-10', -31, '2027-03-26', '2027-06-11', 23],
    ['2026-11-14', -29, '2026-10-01', '2026-11-25', 7],
    ['2027-06-04', -3, '2027-06-01', '2027-05-11', -17],
    ['2027-03-14', -22, '2027-02-09', '2027-05-05', 37],
    ['2027-09-22', 33, '2027-11-09', '2027-09-01', -14],
    ['2025-12-26', 7, '2026-01-07', '2025-12-12', -10],
    ['2027-03-18', 14, '2027-04-07', '2027-01-28', -34],
    ['2027-01-13', 34, '2027-03-04', '2027-01-23', 7],
    ['2027-04-25', -26, '2027-03-18', '2027-04-19', -4],
    ['2027-05-03', 36, '2027-06-24', '2027-06-24', 36],
  ];
  it.each(rows)('busday_offset(%s, %i) = %s; busday_count from that date to %s = %i', (date, n, offset, to, count) => {
    expect(bundled.addBusinessDays(date, n)).toBe(offset);
    expect(bundled.countBusinessDays(date, to)).toBe(count);
  });
});

describe('business-day arithmetic agrees with a day-by-day reference', () => {
  const cases: Array<[string, Calendar, Weekday[], string[]]> = [
    ['bundled', bundled, MON_TO_FRI, US_FEDERAL_HOLIDAYS_2026_2027],
    ['UTC Mon–Fri without holidays', utc, MON_TO_FRI, []],
    ['Sunday-to-Thursday', sunToThu, SUN_TO_THU, SUN_TO_THU_HOLIDAYS],
    ['a one-day workweek with holidays on it', createCalendar(calendarPolicy({ workweek: ['wed'] })), ['wed'], US_FEDERAL_HOLIDAYS_2026_2027],
  ];

  it.each(cases)('%s: 1500 seeded random offsets and counts around 2025–2028', (_name, calendar, workweek, holidays) => {
    const reference = referenceCalendar(workweek, holidays);
    const random = seededRandom(20260308);
    for (let i = 0; i < 1500; i++) {
      const from = reference.shift('2025-06-01', Math.floor(random() * 1000));
      const n = Math.floor(random() * 141) - 70;
      const to = reference.shift(from, Math.floor(random() * 801) - 400);
      expect(calendar.addBusinessDays(from, n), `busday_offset(${from}, ${n})`).toBe(reference.offset(from, n));
      expect(calendar.countBusinessDays(from, to), `busday_count(${from}, ${to})`).toBe(reference.count(from, to));
    }
  });

  it.each(cases)('%s: offsetting a business day by the count to another business day lands on it, both ways', (_name, calendar) => {
    const random = seededRandom(1101);
    for (let i = 0; i < 500; i++) {
      const from = calendar.addBusinessDays(calendar.addDays('2025-06-01', Math.floor(random() * 1000)), 0);
      const to = calendar.addBusinessDays(calendar.addDays(from, Math.floor(random() * 201) - 100), 0);
      expect(calendar.addBusinessDays(from, calendar.countBusinessDays(from, to)), `${from} → ${to}`).toBe(to);
    }
  });
});

describe('addDays', () => {
  it.each([
    ['2026-01-30', 30, '2026-03-01', 'February 2026 has 28 days'],
    ['2028-02-01', 30, '2028-03-02', 'February 2028 has 29 days'],
    ['2026-12-28', 7, '2027-01-04', 'across the year end'],
    ['2026-03-08', 1, '2026-03-09', 'the DST day is a whole date, not 23 hours'],
    ['2027-01-04', -7, '2026-12-28', 'backwards across the year end'],
  ])('%s + %i days = %s (%s)', (date, n, expected) => {
    expect(bundled.addDays(date, n)).toBe(expected);
  });
});

describe('dueDateFor', () => {
  it('is the 5th business day after the start for a 5-business-day clock, skipping Thanksgiving', () => {
    expect(dueDateFor(bundled, { businessDays: 5 }, '2026-11-20')).toBe('2026-11-30');
  });

  it('never counts the start day: a clock started on Monday with 1 business day is due Tuesday', () => {
    expect(dueDateFor(bundled, { businessDays: 1 }, '2026-03-02')).toBe('2026-03-03');
  });

  it('counts a clock started on a Saturday from the following Monday', () => {
    // busday_offset rolls Saturday back to Friday 03-06; Friday + 5 = Mon 9 … Fri 13.
    expect(dueDateFor(bundled, { businessDays: 5 }, '2026-03-07')).toBe('2026-03-13');
  });

  it('uses the local date: a claim submitted at 2026-03-02T06:30:00Z started on Sunday 2026-03-01 in Los Angeles', () => {
    const startedOn = bundled.localDate('2026-03-02T06:30:00Z');
    // Sunday rolls back to Friday 02-27; + 5 = Fri 03-06 (the UTC date, Mon 03-02, would give 03-09).
    expect(dueDateFor(bundled, { businessDays: 5 }, startedOn)).toBe('2026-03-06');
    expect(iso(fallsDueAt(bundled, '2026-03-06'))).toBe('2026-03-07T08:00:00.000Z');
  });

  it('adds calendar days for a day clock, across month and year ends', () => {
    expect(dueDateFor(bundled, { days: 7 }, '2026-02-25')).toBe('2026-03-04');
    expect(dueDateFor(bundled, { days: 7 }, '2026-12-28')).toBe('2027-01-04');
    expect(dueDateFor(bundled, { days: 30 }, '2026-01-30')).toBe('2026-03-01');
  });

  it('ignores weekends and holidays for a day clock', () => {
    expect(dueDateFor(bundled, { days: 1 }, '2026-11-25')).toBe('2026-11-26'); // Thanksgiving
  });

  it('throws on a duration with both or neither of businessDays and days', () => {
    expect(() => dueDateFor(bundled, { businessDays: 5, days: 7 } as never, '2026-03-02')).toThrow(
      /exactly one of businessDays or days/,
    );
    expect(() => dueDateFor(bundled, {} as never, '2026-03-02')).toThrow(/exactly one/);
  });
});

describe('fallsDueAt', () => {
  it.each([
    ['2026-03-07', '2026-03-08T08:00:00.000Z', 'midnight starting 03-08 is still PST (-8)'],
    ['2026-03-08', '2026-03-09T07:00:00.000Z', 'midnight starting 03-09 is PDT (-7)'],
    ['2026-10-31', '2026-11-01T07:00:00.000Z', 'midnight starting 11-01 is still PDT (-7)'],
    ['2026-11-01', '2026-11-02T08:00:00.000Z', 'midnight starting 11-02 is PST (-8)'],
    ['2026-12-31', '2027-01-01T08:00:00.000Z', 'across the year end'],
  ])('a due date of %s falls due at %s in Los Angeles (%s)', (dueDate, expected) => {
    expect(iso(fallsDueAt(bundled, dueDate))).toBe(expected);
  });

  it('falls due at 00:00Z of the next day in a UTC calendar', () => {
    expect(iso(fallsDueAt(utc, '2026-12-31'))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('leaves the whole due date to the party: the last instant of the due date is not yet due', () => {
    const due = fallsDueAt(bundled, '2026-11-01').getTime();
    expect(bundled.localDate(new Date(due - 1))).toBe('2026-11-01');
    expect(bundled.localDate(new Date(due))).toBe('2026-11-02');
  });
});

describe('extendDueDate', () => {
  const businessClock = { businessDays: 10 } as const;
  const dayClock = { days: 30 } as const;

  it('moves a business-day due date by the business days paused: Mon→Wed is 2 days', () => {
    expect(extendDueDate(bundled, businessClock, '2026-03-06', '2026-03-02', '2026-03-04')).toBe('2026-03-10');
  });

  it('counts only Friday for a pause from Friday to Monday', () => {
    expect(extendDueDate(bundled, businessClock, '2026-03-10', '2026-03-06', '2026-03-09')).toBe('2026-03-11');
  });

  it('does not count Thanksgiving in a pause over it (Wed 25 to Mon 30 pauses Wed and Fri)', () => {
    expect(extendDueDate(bundled, businessClock, '2026-12-01', '2026-11-25', '2026-11-30')).toBe('2026-12-03');
  });

  it('skips holidays when moving the due date: Wed 12-23 + 2 is Mon 12-28 (Christmas on Friday)', () => {
    expect(extendDueDate(bundled, businessClock, '2026-12-23', '2026-12-14', '2026-12-16')).toBe('2026-12-28');
  });

  it('leaves a business-day due date unchanged for a pause over only a weekend or a holiday', () => {
    expect(extendDueDate(bundled, businessClock, '2026-03-10', '2026-03-07', '2026-03-09')).toBe('2026-03-10');
    expect(extendDueDate(bundled, businessClock, '2026-07-10', '2026-07-03', '2026-07-06')).toBe('2026-07-10');
  });

  it('leaves the due date unchanged when pause and resume are on the same date, for both clocks', () => {
    expect(extendDueDate(bundled, businessClock, '2026-03-13', '2026-03-13', '2026-03-13')).toBe('2026-03-13');
    expect(extendDueDate(bundled, dayClock, '2026-03-14', '2026-03-13', '2026-03-13')).toBe('2026-03-14');
  });

  it('moves a day-clock due date by the calendar days paused, weekends and holidays included', () => {
    // Paused Fri 07-03 (holiday) to Mon 07-06: 3 calendar days.
    expect(extendDueDate(bundled, dayClock, '2026-07-20', '2026-07-03', '2026-07-06')).toBe('2026-07-23');
  });

  it('moves a day-clock due date across month and year ends', () => {
    expect(extendDueDate(bundled, dayClock, '2026-01-29', '2026-01-10', '2026-01-13')).toBe('2026-02-01');
    expect(extendDueDate(bundled, dayClock, '2026-12-30', '2026-12-20', '2026-12-25')).toBe('2027-01-04');
  });

  it('throws when the pause resumes before it started', () => {
    expect(() => extendDueDate(bundled, businessClock, '2026-03-13', '2026-03-05', '2026-03-04')).toThrow(
      /cannot resume/,
    );
  });

  it('throws on a malformed due date even when nothing was paused', () => {
    expect(() => extendDueDate(bundled, businessClock, '2026-3-13', '2026-03-05', '2026-03-05')).toThrow(
      /Not a valid YYYY-MM-DD date/,
    );
  });
});
