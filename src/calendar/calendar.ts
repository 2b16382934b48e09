import { parseInstant } from '../domain/instants';

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** A policy's `calendar:` section, as the calendar reads it. */
export interface CalendarPolicy {
  /** IANA time zone; default UTC. */
  timeZone: string;
  workweek: Weekday[];
  /** Local dates, YYYY-MM-DD. */
  holidays: string[];
}

/**
 * A business calendar: local dates in one IANA time zone, a workweek and holidays.
 * Dates are `YYYY-MM-DD` strings (years 0001–9999); instants are `Date`s or ISO
 * strings read by parseInstant (src/domain/instants.ts). Pure: nothing here reads the clock.
 */
export interface Calendar {
  readonly timeZone: string;
  /** Local date (YYYY-MM-DD) of an instant in the calendar's time zone. */
  localDate(instant: Date | string): string;
  /** The first instant of a local date (00:00 local; if local midnight does not exist because of a DST jump, the first instant that day). */
  startOfLocalDay(date: string): Date;
  isBusinessDay(date: string): boolean;
  /** numpy busday_offset(date, n, roll='backward', weekmask, holidays). n may be 0 or negative. */
  addBusinessDays(date: string, n: number): string;
  /**
   * numpy busday_count(from, to): business days in [from, to); negative when to < from (as numpy).
   * Backwards it is -(business days in (to, from]), as numpy ≥ 1.25 (numpy/numpy#23197), so
   * addBusinessDays(from, countBusinessDays(from, to)) is `to` when both are business days.
   */
  countBusinessDays(from: string, to: string): number;
  addDays(date: string, n: number): string;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Epoch days of 0001-01-01 and 9999-12-31: the range a `YYYY-MM-DD` string can name. */
const MIN_EPOCH_DAY = -719_162;
const MAX_EPOCH_DAY = 2_932_896;
/** Local midnights kept per calendar before the cache starts over. */
const START_OF_DAY_CACHE_LIMIT = 4096;

const WEEKDAY_INDEX: Readonly<Record<Weekday, number>> = {
  mon: 0,
  tue: 1,
  wed: 2,
  thu: 3,
  fri: 4,
  sat: 5,
  sun: 6,
};

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  // Date.UTC is not used: it maps years 0–99 to 1900–1999.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digitAt(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Epoch day of a `YYYY-MM-DD` string, or NaN when it is not a real date. */
function tryParseDate(date: string): number {
  if (typeof date !== 'string' || date.length !== 10 || date[4] !== '-' || date[7] !== '-') return NaN;
  const y0 = digitAt(date, 0);
  const y1 = digitAt(date, 1);
  const y2 = digitAt(date, 2);
  const y3 = digitAt(date, 3);
  const m0 = digitAt(date, 5);
  const m1 = digitAt(date, 6);
  const d0 = digitAt(date, 8);
  const d1 = digitAt(date, 9);
  if ((y0 | y1 | y2 | y3 | m0 | m1 | d0 | d1) < 0) return NaN;
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const month = m0 * 10 + m1;
  const day = d0 * 10 + d1;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day);
}

/** Epoch day (days since 1970-01-01) of a `YYYY-MM-DD` date; throws RangeError if it is not a real date. */
export function toEpochDay(date: string): number {
  const day = tryParseDate(date);
  if (Number.isNaN(day)) throw new RangeError(`Not a valid YYYY-MM-DD date: ${JSON.stringify(date)}`);
  return day;
}

/** The `YYYY-MM-DD` date of an epoch day (H. Hinnant's civil_from_days); throws RangeError outside years 0001–9999. */
function fromEpochDay(epochDay: number): string {
  if (!Number.isSafeInteger(epochDay) || epochDay < MIN_EPOCH_DAY || epochDay > MAX_EPOCH_DAY) {
    throw new RangeError(`Date out of range (years 0001-9999): epoch day ${epochDay}`);
  }
  const z = epochDay + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const yyyy = year >= 1000 ? `${year}` : `${year}`.padStart(4, '0');
  return `${yyyy}-${pad2(month)}-${pad2(day)}`;
}

/** Calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return toEpochDay(to) - toEpochDay(from);
}

function requireInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be an integer, got ${String(n)}`);
}

/** Monday = 0 … Sunday = 6; 1970-01-01 was a Thursday. */
function weekdayOf(epochDay: number): number {
  return (((epochDay + 3) % 7) + 7) % 7;
}

/** Index of the first element of a sorted array that is >= value. */
function lowerBound(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class BusinessCalendar implements Calendar {
  readonly timeZone: string;
  readonly #formatter: Intl.DateTimeFormat;
  /** weekmask[weekday] is 1 for a workday (Monday = 0). */
  readonly #weekmask: Uint8Array;
  readonly #workdaysPerWeek: number;
  readonly #holidays: ReadonlySet<number>;
  /** Holidays that fall on workdays, sorted and distinct (numpy ignores the others). */
  readonly #workdayHolidays: Int32Array;
  readonly #startOfDayCache = new Map<number, number>();
  /** The last instant read as a wall clock, and its reading: a step reads its instant's local date several times. */
  #lastWallClock = { ms: Number.NaN, wall: 0 };

  constructor(timeZone: string, formatter: Intl.DateTimeFormat, weekmask: Uint8Array, holidays: ReadonlySet<number>) {
    this.timeZone = timeZone;
    this.#formatter = formatter;
    this.#weekmask = weekmask;
    this.#workdaysPerWeek = weekmask.reduce((sum, bit) => sum + bit, 0);
    this.#holidays = holidays;
    this.#workdayHolidays = Int32Array.from([...holidays].filter((d) => weekmask[weekdayOf(d)] === 1)).sort();
  }

  localDate(instant: Date | string): string {
    return fromEpochDay(Math.floor(this.#wallClock(instantMs(instant)) / DAY_MS));
  }

  startOfLocalDay(date: string): Date {
    const epochDay = toEpochDay(date);
    let ms = this.#startOfDayCache.get(epochDay);
    if (ms === undefined) {
      ms = this.#firstInstantOf(epochDay);
      if (this.#startOfDayCache.size >= START_OF_DAY_CACHE_LIMIT) this.#startOfDayCache.clear();
      this.#startOfDayCache.set(epochDay, ms);
    }
    return new Date(ms);
  }

  isBusinessDay(date: string): boolean {
    return this.#isBusinessDay(toEpochDay(date));
  }

  addBusinessDays(date: string, n: number): string {
    requireInteger(n, 'Business-day offset');
    let day = toEpochDay(date);
    // roll='backward': a date that is not a business day first becomes the previous one.
    while (!this.#isBusinessDay(day)) day--;
    let remaining = n;
    const perWeek = this.#workdaysPerWeek;
    while (remaining > 0) {
      // Whole weeks at a time, then single days; holidays in a jumped week are paid back by stepping on.
      const weeks = Math.floor(remaining / perWeek);
      if (weeks > 0) {
        const next = day + weeks * 7;
        remaining -= this.#countRange(day + 1, next + 1);
        day = next;
      } else {
        day++;
        if (this.#isBusinessDay(day)) remaining--;
      }
    }
    while (remaining < 0) {
      const weeks = Math.floor(-remaining / perWeek);
      if (weeks > 0) {
        const previous = day - weeks * 7;
        remaining += this.#countRange(previous, day);
        day = previous;
      } else {
        day--;
        if (this.#isBusinessDay(day)) remaining++;
      }
    }
    return fromEpochDay(day);
  }

  countBusinessDays(from: string, to: string): number {
    const begin = toEpochDay(from);
    const end = toEpochDay(to);
    // Backwards numpy excludes the earlier date and includes the later one: (end, begin].
    // `0 - x`, not `-x`, so that an empty range is 0 and never -0.
    return end >= begin ? this.#countRange(begin, end) : 0 - this.#countRange(end + 1, begin + 1);
  }

  addDays(date: string, n: number): string {
    requireInteger(n, 'Day offset');
    return fromEpochDay(toEpochDay(date) + n);
  }

  #isBusinessDay(epochDay: number): boolean {
    return this.#weekmask[weekdayOf(epochDay)] === 1 && !this.#holidays.has(epochDay);
  }

  /** Business days in [begin, end), begin <= end. */
  #countRange(begin: number, end: number): number {
    const span = end - begin;
    let count = Math.floor(span / 7) * this.#workdaysPerWeek;
    let weekday = weekdayOf(begin);
    for (let rest = span % 7; rest > 0; rest--) {
      count += this.#weekmask[weekday]!;
      weekday = weekday === 6 ? 0 : weekday + 1;
    }
    return count - (lowerBound(this.#workdayHolidays, end) - lowerBound(this.#workdayHolidays, begin));
  }

  /** Local wall-clock time of an instant, as milliseconds since 1970-01-01T00:00 local. */
  #wallClock(ms: number): number {
    const last = this.#lastWallClock;
    if (last.ms === ms) return last.wall;
    const wall = this.#readWallClock(ms);
    this.#lastWallClock = { ms, wall };
    return wall;
  }

  #readWallClock(ms: number): number {
    const text = this.#formatter.format(ms);
    // en-US with h23 reads "MM/DD/YYYY, HH:mm:ss": read the six digit runs in order.
    let field = 0;
    let value = -1;
    let month = 0;
    let day = 0;
    let year = 0;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (let i = 0; i <= text.length; i++) {
      const digit = i < text.length ? digitAt(text, i) : -1;
      if (digit >= 0) {
        value = value < 0 ? digit : value * 10 + digit;
        continue;
      }
      if (value < 0) continue;
      if (field === 0) month = value;
      else if (field === 1) day = value;
      else if (field === 2) year = value;
      else if (field === 3) hour = value === 24 ? 0 : value; // some ICU builds print midnight as 24
      else if (field === 4) minute = value;
      else if (field === 5) second = value;
      field++;
      value = -1;
    }
    if (field !== 6) throw new Error(`Unexpected date format from Intl for ${this.timeZone}: ${JSON.stringify(text)}`);
    const millis = ((ms % 1000) + 1000) % 1000;
    return daysFromCivil(year, month, day) * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS + second * 1000 + millis;
  }

  #offsetAt(ms: number): number {
    return this.#wallClock(ms) - ms;
  }

  /**
   * The first instant whose local date is `epochDay`. Local midnight is tried with the
   * offsets in force a day before and a day after (the earlier wins if midnight repeats);
   * if neither gives midnight, midnight is in a gap and the answer is the transition.
   */
  #firstInstantOf(epochDay: number): number {
    const midnight = epochDay * DAY_MS;
    const before = this.#offsetAt(midnight - DAY_MS);
    const after = this.#offsetAt(midnight + DAY_MS);
    let first = Number.NaN;
    if (this.#wallClock(midnight - before) === midnight) first = midnight - before;
    if (after !== before && this.#wallClock(midnight - after) === midnight) {
      first = Number.isNaN(first) ? midnight - after : Math.min(first, midnight - after);
    }
    if (!Number.isNaN(first)) return first;
    // Gap: local time jumps over midnight. Find the first instant at or after it.
    let lo = midnight - Math.max(before, after);
    let hi = midnight - Math.min(before, after);
    if (this.#wallClock(hi) < midnight) {
      throw new Error(`Cannot find the start of ${fromEpochDay(epochDay)} in ${this.timeZone}`);
    }
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.#wallClock(mid) >= midnight) hi = mid;
      else lo = mid + 1;
    }
    return hi;
  }
}

function instantMs(instant: Date | string): number {
  let ms: number;
  if (instant instanceof Date) {
    ms = instant.getTime();
  } else if (typeof instant === 'string') {
    const parsed = parseInstant(instant);
    ms = parsed.ok ? parsed.value.getTime() : Number.NaN;
  } else {
    ms = Number.NaN;
  }
  if (Number.isNaN(ms)) {
    throw new RangeError(`Not a valid instant (a Date, or an ISO 8601 string with Z or an offset): ${String(instant)}`);
  }
  return ms;
}

/** Builds a calendar from a policy's `calendar` section; throws on an unknown time zone, a malformed holiday or weekday, or an empty workweek. */
export function createCalendar(policy: CalendarPolicy): Calendar {
  const { timeZone, workweek, holidays } = policy;
  let formatter: Intl.DateTimeFormat;
  try {
    if (typeof timeZone !== 'string' || timeZone === '') throw new RangeError('empty');
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  } catch {
    throw new Error(`Calendar time zone ${JSON.stringify(timeZone)} is not a known IANA time zone`);
  }

  if (!Array.isArray(workweek) || workweek.length === 0) {
    throw new Error('Calendar workweek is empty: at least one weekday must be a workday');
  }
  const weekmask = new Uint8Array(7);
  for (const weekday of workweek) {
    const index = Object.hasOwn(WEEKDAY_INDEX, weekday) ? WEEKDAY_INDEX[weekday] : undefined;
    if (index === undefined) {
      throw new Error(`Calendar workweek has an unknown weekday ${JSON.stringify(weekday)} (expected mon..sun)`);
    }
    weekmask[index] = 1;
  }

  const holidaySet = new Set<number>();
  for (const holiday of holidays ?? []) {
    const day = tryParseDate(holiday);
    if (Number.isNaN(day)) {
      throw new Error(`Calendar holiday ${JSON.stringify(holiday)} is not a valid YYYY-MM-DD date`);
    }
    holidaySet.add(day);
  }

  return new BusinessCalendar(timeZone, formatter, weekmask, holidaySet);
}
