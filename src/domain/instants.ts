/**
 * The one strict reader of instants and local dates in input: what matches the
 * documented pattern must also be a real moment. Refused: impossible calendar dates
 * (2026-02-30, month 13), hours past 23, minutes or seconds past 59, offsets beyond
 * ±18:00 (the ECMAScript / java.time range), and years outside 1970–9999, the years
 * every deadline of a claim can be computed in (the calendar stops at 9999).
 */

const MIN_YEAR = 1970;
const MAX_YEAR = 9999;
/** Largest UTC offset accepted, in minutes (±18:00). */
const MAX_OFFSET_MINUTES = 18 * 60;

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|([+-])(\d{2}):(\d{2}))$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) => [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;

/** Why a date's parts are impossible, or null when they form a real date in range. */
function dateProblem(year: number, month: number, day: number): string | null {
  if (year < MIN_YEAR || year > MAX_YEAR) return `the year must be ${MIN_YEAR} to ${MAX_YEAR}`;
  if (month < 1 || month > 12) return 'the month must be 01 to 12';
  if (day < 1 || day > daysIn(year, month)) return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')} has ${daysIn(year, month)} days`;
  return null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** An ISO-8601 instant with a zone (`2026-03-02T09:00Z`, `…:00.5+01:00`), strictly. */
export function parseInstant(text: string): Parsed<Date> {
  const m = INSTANT.exec(text);
  if (!m) return { ok: false, problem: 'is not an ISO-8601 instant with a time zone (e.g. 2026-03-02T09:00:00Z)' };
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const dateIssue = dateProblem(year, month, day);
  if (dateIssue) return { ok: false, problem: `is not a real instant: ${dateIssue}` };
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, problem: 'is not a real instant: the time must be 00:00:00 to 23:59:59' };
  if (m[9]) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    const offset = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
    if (om > 59 || Math.abs(offset) > MAX_OFFSET_MINUTES) return { ok: false, problem: 'is not a real instant: the UTC offset must be within ±18:00' };
  }
  const value = new Date(text);
  if (Number.isNaN(value.getTime())) return { ok: false, problem: 'is not a real instant' };
  const utcYear = value.getUTCFullYear();
  if (utcYear < MIN_YEAR || utcYear > MAX_YEAR) return { ok: false, problem: `is not a real instant: the year must be ${MIN_YEAR} to ${MAX_YEAR} (in UTC)` };
  return { ok: true, value };
}

/** A local date `YYYY-MM-DD`, strictly. */
export function parseLocalDate(text: string): Parsed<string> {
  const m = DATE.exec(text);
  if (!m) return { ok: false, problem: 'is not a date (YYYY-MM-DD)' };
  const issue = dateProblem(Number(m[1]), Number(m[2]), Number(m[3]));
  return issue ? { ok: false, problem: `is not a real date: ${issue}` } : { ok: true, value: text };
}

/** A query value that is an instant or a local date (`from`, `to`, `since`): which one, read as strictly as each. */
export function parseInstantOrDate(text: string): Parsed<{ instant: Date } | { date: string }> {
  if (text.includes('T')) {
    const at = parseInstant(text);
    return at.ok ? { ok: true, value: { instant: at.value } } : at;
  }
  const date = parseLocalDate(text);
  return date.ok ? { ok: true, value: { date: date.value } } : date;
}

/** The local date after `date` (a date `parseLocalDate` accepts), or undefined after the last one (9999-12-31). */
export function nextLocalDate(date: string): string | undefined {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(year, month - 1, day + 1)).toISOString().slice(0, 10);
  return parseLocalDate(next).ok ? next : undefined;
}

/** The `date-time` and `date` formats of every validator (also the precompiled ones: json-schema.ts). */
export const isInstant = (text: string) => parseInstant(text).ok;
export const isLocalDate = (text: string) => parseLocalDate(text).ok;

/**
 * Makes an ajv instance validate `date-time` and `date` with these readers: every
 * schema that says an input is an instant or a date gets the same answer.
 */
export function addStrictTimeFormats(ajv: { addFormat(name: string, format: { type: 'string'; validate: (text: string) => boolean }): unknown }): void {
  ajv.addFormat('date-time', { type: 'string', validate: isInstant });
  ajv.addFormat('date', { type: 'string', validate: isLocalDate });
}

/** What is wrong with `value` as a `date-time` or `date` (ajv's format errors, in words); undefined for other formats. */
export function formatProblem(format: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = format === 'date-time' ? parseInstant(value) : format === 'date' ? parseLocalDate(value) : undefined;
  return parsed && !parsed.ok ? parsed.problem : undefined;
}

/** The value at a JSON pointer (`/steps/0/at`) of `root`. */
export function valueAtPointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
