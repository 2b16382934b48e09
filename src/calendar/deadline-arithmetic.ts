import { daysBetween, toEpochDay, type Calendar } from './calendar';

/** A deadline's length: business days per the calendar, or calendar days. */
export type DeadlineDuration = { businessDays: number } | { days: number };

function assertOneClock(duration: DeadlineDuration): void {
  if (('businessDays' in duration) === ('days' in duration)) {
    throw new RangeError('A deadline duration needs exactly one of businessDays or days');
  }
}

/** Due date for a clock started on local date `startedOn`: Nth business day after it (startedOn never counts) = busday_offset(startedOn, N, roll='backward'), or startedOn + N days. */
export function dueDateFor(calendar: Calendar, duration: DeadlineDuration, startedOn: string): string {
  assertOneClock(duration);
  return 'businessDays' in duration
    ? calendar.addBusinessDays(startedOn, duration.businessDays)
    : calendar.addDays(startedOn, duration.days);
}

/** The instant a due date falls due: 00:00 local time of the day after the due date. */
export function fallsDueAt(calendar: Calendar, dueDate: string): Date {
  return calendar.startOfLocalDay(calendar.addDays(dueDate, 1));
}

/** A pause from local date pausedOn to resumedOn moves the due date later by busday_count(pausedOn, resumedOn) business days (business-day clock: result = busday_offset(dueDate, count, roll='backward')) or by resumedOn - pausedOn calendar days (day clock). */
export function extendDueDate(
  calendar: Calendar,
  duration: DeadlineDuration,
  dueDate: string,
  pausedOn: string,
  resumedOn: string,
): string {
  assertOneClock(duration);
  toEpochDay(dueDate); // validates it on every path
  const pausedDays = daysBetween(pausedOn, resumedOn);
  if (pausedDays < 0) {
    throw new RangeError(`A pause cannot resume (${resumedOn}) before it started (${pausedOn})`);
  }
  if (!('businessDays' in duration)) return calendar.addDays(dueDate, pausedDays);
  const pausedBusinessDays = calendar.countBusinessDays(pausedOn, resumedOn);
  // A pause over no business day leaves the due date as it is (busday_offset(d, 0) would
  // roll a due date that is not a business day back; dueDateFor never yields one).
  if (pausedBusinessDays === 0) return dueDate;
  return calendar.addBusinessDays(dueDate, pausedBusinessDays);
}
