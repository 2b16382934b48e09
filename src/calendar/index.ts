export { createCalendar, daysBetween, fromEpochDay, toEpochDay, type Calendar } from './calendar';
export { dueDateFor, extendDueDate, fallsDueAt, type DeadlineDuration } from './deadline-arithmetic';
