/** What a policy's schema cannot express, checked on the parts the schema found well-formed. */
import { isInAnyState, isInState } from '../domain/claim-types';
import { parseLocalDate } from '../domain/instants';
import { didYouMean } from './did-you-mean';
import { toJsonPath, type RawIssue, type Segment } from './policy-issues';
import { SYSTEM_ROLE } from './policy-types';
import type { Condition, Policy } from './policy-types';

/** Rejection reasons the service itself gives, and which event and role kind give them. */
const REQUIRED_REASONS = [
  { code: 'partnerRequest', event: 'withdraw', kind: 'partner' },
  { code: 'customerDecline', event: 'denyConsent', kind: 'customer' },
] as const;

const CODE_LISTS = [
  { key: 'rejectionReasons', what: 'rejection reason' },
  { key: 'deficiencies', what: 'deficiency' },
  { key: 'submissionRequirements', what: 'submission requirement' },
  { key: 'incentivePrograms', what: 'incentive program' },
] as const;

/** What the schema cannot express: role and code references, deadlines that never start, reasons the service needs. */
export function semanticIssues(policy: Policy, wellFormed: (...pointers: string[]) => boolean): RawIssue[] {
  const issues: RawIssue[] = [];
  const error = (segments: Segment[], code: string, message: string, atKey = false) =>
    issues.push({ segments, code, message, atKey });
  const warning = (segments: Segment[], code: string, message: string, atKey = false) =>
    issues.push({ segments, code, message, atKey, severity: 'warning' });

  if (wellFormed('/calendar')) checkCalendar(policy, error);
  if (wellFormed('/roles', '/events', '/rejectionReasons')) checkRoles(policy, error, warning);
  for (const { key, what } of CODE_LISTS) {
    if (wellFormed(`/${key}`)) checkDuplicateCodes(policy[key], key, what, error);
  }
  if (wellFormed('/editableFields')) checkEditableFields(policy, error);
  const deadlines: unknown = (policy as Partial<Policy> | null)?.deadlines;
  for (const name of deadlines !== null && typeof deadlines === 'object' ? Object.keys(deadlines) : []) {
    if (wellFormed(`/deadlines/${escapePointer(name)}`, '/events', '/rejectionReasons')) checkDeadline(policy, name, error);
  }
  if (wellFormed('/deficiencies')) {
    policy.deficiencies.forEach((deficiency, i) => {
      if (deficiency.when === undefined) {
        warning(
          ['deficiencies', i],
          'noWhen',
          `Deficiency ${deficiency.code} has no when: it is never detected automatically, only cited by reviewers.`,
        );
      }
    });
  }
  if (wellFormed('/incentivePrograms')) {
    policy.incentivePrograms.forEach((program, i) => {
      if (isEmptyCondition(program.eligibility)) {
        warning(
          ['incentivePrograms', i, 'eligibility'],
          'noWhen',
          `Incentive program ${program.code} has no eligibility conditions: every claim assessed is eligible.`,
        );
      }
    });
  }
  return issues;
}

type Report = (segments: Segment[], code: string, message: string, atKey?: boolean) => void;

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function checkCalendar(policy: Policy, error: Report): void {
  const { timeZone, holidays } = policy.calendar;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    error(
      ['calendar', 'timeZone'],
      'unknownTimeZone',
      `Unknown time zone "${timeZone}": use an IANA name such as UTC, America/Los_Angeles or Europe/Berlin.`,
    );
  }
  holidays.forEach((date, i) => {
    if (!parseLocalDate(date).ok) error(['calendar', 'holidays', i], 'invalidDate', `${date} is not a date in the calendar.`);
  });
}

function checkRoles(policy: Policy, error: Report, warning: Report): void {
  const roleNames = Object.keys(policy.roles);
  const isRole = (role: string) => role === SYSTEM_ROLE || Object.hasOwn(policy.roles, role);
  const unknownRole = (role: string) =>
    `Unknown role "${role}"${didYouMean(role, roleNames)}; defined roles: ${[...roleNames, SYSTEM_ROLE].join(', ')}.`;

  if (Object.hasOwn(policy.roles, SYSTEM_ROLE)) {
    error(['roles', SYSTEM_ROLE], 'reservedRole', `"${SYSTEM_ROLE}" is the service itself (deadlines); it cannot be defined as a role.`, true);
  }
  for (const [event, { roles }] of Object.entries(policy.events)) {
    if (roles.length === 0) {
      error(['events', event, 'roles'], 'eventWithoutRole', `Nobody may send ${event}: list at least one role (or system).`);
    }
    roles.forEach((role, i) => {
      if (!isRole(role)) error(['events', event, 'roles', i], 'unknownRole', unknownRole(role));
    });
  }
  policy.rejectionReasons.forEach((reason, i) => {
    if (reason.usableBy.length === 0) {
      error(
        ['rejectionReasons', i, 'usableBy'],
        'reasonWithoutRole',
        `Nobody may use rejection reason ${reason.code}: list at least one role (or system).`,
      );
    }
    reason.usableBy.forEach((role, j) => {
      if (!isRole(role)) error(['rejectionReasons', i, 'usableBy', j], 'unknownRole', unknownRole(role));
    });
  });

  for (const { code, event, kind } of REQUIRED_REASONS) {
    const index = policy.rejectionReasons.findIndex((r) => r.code === code);
    const needed = policy.events[event].roles.filter((role) => policy.roles[role]?.kind === kind);
    if (index < 0) {
      error(
        ['rejectionReasons'],
        'missingRejectionReason',
        `Rejection reason "${code}" is missing: the service rejects with it on ${event}${needed.length ? ` (by ${needed.join(', ')})` : ''}.`,
      );
      continue;
    }
    const usableBy = policy.rejectionReasons[index]!.usableBy;
    const lacking = needed.filter((role) => !usableBy.includes(role));
    if (lacking.length) {
      error(
        ['rejectionReasons', index, 'usableBy'],
        'reasonNotUsable',
        `Rejection reason ${code} must be usable by ${lacking.join(', ')}: ${lacking.length > 1 ? 'they' : 'it'} may ${event}, which rejects with ${code}.`,
      );
    }
  }

  const usedRoles = new Set([
    ...Object.values(policy.events).flatMap((e) => e.roles),
    ...policy.rejectionReasons.flatMap((r) => r.usableBy),
  ]);
  for (const [role, { kind }] of Object.entries(policy.roles)) {
    // Internal roles read and never act on claims: not being in events is their purpose.
    if (kind !== 'internal' && !usedRoles.has(role)) {
      warning(['roles', role], 'unusedRole', `Role ${role} may send no event and use no rejection reason.`, true);
    }
  }
}

function checkDuplicateCodes(list: ReadonlyArray<{ code: string }>, key: string, what: string, error: Report): void {
  const first = new Map<string, number>();
  list.forEach(({ code }, i) => {
    const earlier = first.get(code);
    if (earlier === undefined) first.set(code, i);
    else error([key, i, 'code'], 'duplicateCode', `Duplicate ${what} code "${code}" (also at ${toJsonPath([key, earlier, 'code'])}).`);
  });
}

function checkEditableFields(policy: Policy, error: Report): void {
  for (const [state, fields] of Object.entries(policy.editableFields)) {
    (fields ?? []).forEach((field, i) => {
      if (field === 'partnerId') {
        error(['editableFields', state, i], 'immutableField', 'partnerId is never editable: the owner of a claim never changes.');
      }
    });
  }
}

function checkDeadline(policy: Policy, name: string, error: Report): void {
  const deadline = policy.deadlines[name]!;
  const base = ['deadlines', name];
  const pausedIn = deadline.pausedIn ?? [];
  if (deadline.runsIn.length === 0) {
    error([...base, 'runsIn'], 'deadlineNeverStarts', `Deadline ${name} never starts: runsIn lists no state.`);
  } else if (deadline.runsIn.every((state) => isInAnyState(state, pausedIn))) {
    error([...base, 'pausedIn'], 'deadlineNeverStarts', `Deadline ${name} never starts: every runsIn state is also in pausedIn.`);
  } else {
    pausedIn.forEach((paused, i) => {
      const clash = deadline.runsIn.find((state) => overlaps(state, paused));
      if (clash) {
        error(
          [...base, 'pausedIn', i],
          'deadlineStateOverlap',
          `${paused} is in both runsIn (${clash}) and pausedIn of deadline ${name}: a state either runs or pauses the clock.`,
        );
      }
    });
  }

  const onDue = deadline.onDue;
  if (!('send' in onDue)) return;
  if (!policy.events[onDue.send]?.roles.includes(SYSTEM_ROLE)) {
    error(
      [...base, 'onDue', 'send'],
      'systemCannotSend',
      `Deadline ${name} sends ${onDue.send}, but events.${onDue.send}.roles does not include system.`,
    );
  }
  if (onDue.send !== 'reject') return;
  const reason = onDue.with?.reason;
  const index = policy.rejectionReasons.findIndex((r) => r.code === reason);
  const systemReasons = policy.rejectionReasons.filter((r) => r.usableBy.includes(SYSTEM_ROLE)).map((r) => r.code);
  const hint = systemReasons.length ? `; reasons usable by system: ${systemReasons.join(', ')}` : '';
  if (reason === undefined) {
    error(
      [...base, 'onDue', ...(onDue.with ? ['with'] : [])],
      'missingRejectionReason',
      `Deadline ${name} rejects without a reason: add with: { reason: CODE }${hint}.`,
    );
  } else if (index < 0) {
    error(
      [...base, 'onDue', 'with', 'reason'],
      'unknownRejectionReason',
      `Unknown rejection reason ${JSON.stringify(reason)}${didYouMean(reason, policy.rejectionReasons.map((r) => r.code))}${hint}.`,
    );
  } else {
    const known = policy.rejectionReasons[index]!;
    if (!known.usableBy.includes(SYSTEM_ROLE)) {
      error(
        [...base, 'onDue', 'with', 'reason'],
        'reasonNotUsable',
        `Rejection reason ${known.code} is not usable by system (add system to its usableBy)${hint}.`,
      );
    }
  }
}

function overlaps(a: string, b: string): boolean {
  return isInState(a, b) || isInState(b, a);
}

function isEmptyCondition(condition: Condition): boolean {
  return ('all' in condition && condition.all.length === 0) || ('any' in condition && condition.any.length === 0);
}
