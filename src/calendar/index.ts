export { createCalendar, type Calendar } from './calendar';
export { dueDateFor, extendDueDate, fallsDueAt, type DeadlineDuration } from './deadline-arithmetic';
