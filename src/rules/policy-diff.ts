/**
 * What changed between two policies, section by section, as readable one-line
 * changes: code lists compare by code, role, field and state lists by member,
 * rule conditions by structure (the order of `all` / `any` members does not matter).
 */
import { DEFAULT_DISPUTES_PER_CLAIM } from './policy-schema';
import type { Condition, Policy } from './policy-types';

export const POLICY_DIFF_SECTIONS = [
  'meta',
  'calendar',
  'roles',
  'events',
  'editableFields',
  'rejectionReasons',
  'submissionRequirements',
  'deficiencies',
  'deadlines',
  'incentivePrograms',
  'conflicts',
  'limits',
] as const;
export type PolicyDiffSection = (typeof POLICY_DIFF_SECTIONS)[number];

export interface PolicyChange {
  section: PolicyDiffSection;
  /** Where in the policy, e.g. `deadlines.partnerResponse.businessDays`, `events.submit.roles.reviewer`. */
  key: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
  /** One readable line, e.g. `deadline partnerResponse: businessDays 5 → 10`. */
  summary: string;
}

export interface PolicyDiff {
  from: { id: string; version: string };
  to: { id: string; version: string };
  /** In section order (POLICY_DIFF_SECTIONS); empty when the policies mean the same. */
  changes: PolicyChange[];
}

/** The changes that turn policy `a` into policy `b`. */
export function diffPolicies(a: Policy, b: Policy): PolicyDiff {
  const changes: PolicyChange[] = [];
  const section = (name: PolicyDiffSection) => new SectionDiff(name, changes);

  const meta = section('meta');
  for (const field of ['id', 'version', 'name', 'description'] as const) meta.scalar(field, 'policy', field, a[field], b[field]);
  const sameInstant = a.effective !== undefined && b.effective !== undefined && Date.parse(a.effective) === Date.parse(b.effective);
  if (!sameInstant) meta.scalar('effective', 'policy', 'effective', a.effective, b.effective);

  const calendar = section('calendar');
  calendar.scalar('calendar.timeZone', 'calendar', 'timeZone', a.calendar.timeZone, b.calendar.timeZone);
  calendar.members('calendar.workweek', 'calendar', 'workday', a.calendar.workweek, b.calendar.workweek);
  calendar.members('calendar.holidays', 'calendar', 'holiday', a.calendar.holidays, b.calendar.holidays);

  section('roles').keyed(
    'roles',
    (name) => `role ${name}`,
    entries(a.roles),
    entries(b.roles),
    (role) => role.kind,
    (diff, key, label, x, y) => {
      diff.scalar(`${key}.kind`, label, 'kind', x.kind, y.kind);
      diff.scalar(`${key}.description`, label, 'description', x.description, y.description);
    },
  );

  section('events').keyed(
    'events',
    (name) => `event ${name}`,
    entries(a.events),
    entries(b.events),
    (event) => `by ${event.roles.join(', ')}`,
    (diff, key, label, x, y) => {
      diff.members(`${key}.roles`, label, 'role', x.roles, y.roles);
      diff.scalar(`${key}.description`, label, 'description', x.description, y.description);
    },
  );

  const editable = section('editableFields');
  const states = union(Object.keys(a.editableFields), Object.keys(b.editableFields));
  for (const state of states) {
    const before = a.editableFields[state as keyof Policy['editableFields']] ?? [];
    const after = b.editableFields[state as keyof Policy['editableFields']] ?? [];
    editable.members(`editableFields.${state}`, `editable in ${state}`, 'field', before, after);
  }

  section('rejectionReasons').keyed(
    'rejectionReasons',
    (code) => `rejection reason ${code}`,
    byCode(a.rejectionReasons),
    byCode(b.rejectionReasons),
    (reason) => `usable by ${reason.usableBy.join(', ')}`,
    (diff, key, label, x, y) => {
      diff.scalar(`${key}.description`, label, 'description', x.description, y.description);
      diff.members(`${key}.usableBy`, label, 'role', x.usableBy, y.usableBy, 'usableBy');
    },
  );

  section('submissionRequirements').keyed(
    'submissionRequirements',
    (code) => `submission requirement ${code}`,
    byCode(a.submissionRequirements),
    byCode(b.submissionRequirements),
    (requirement) => `when ${renderCondition(requirement.when)}`,
    (diff, key, label, x, y) => {
      diff.scalar(`${key}.message`, label, 'message', x.message, y.message);
      diff.condition(`${key}.when`, label, 'when', x.when, y.when);
    },
  );

  section('deficiencies').keyed(
    'deficiencies',
    (code) => `deficiency ${code}`,
    byCode(a.deficiencies),
    byCode(b.deficiencies),
    (deficiency) => (deficiency.when ? `when ${renderCondition(deficiency.when)}` : 'reviewer-only'),
    (diff, key, label, x, y) => {
      diff.scalar(`${key}.description`, label, 'description', x.description, y.description);
      diff.condition(`${key}.when`, label, 'when', x.when, y.when);
    },
  );

  section('deadlines').keyed(
    'deadlines',
    (name) => `deadline ${name}`,
    entries(a.deadlines),
    entries(b.deadlines),
    (deadline) =>
      [
        `runsIn ${deadline.runsIn.join(', ')}`,
        deadline.pausedIn?.length ? `pausedIn ${deadline.pausedIn.join(', ')}` : '',
        deadline.businessDays !== undefined ? `${deadline.businessDays} business days` : '',
        deadline.days !== undefined ? `${deadline.days} days` : '',
        `onDue ${show(deadline.onDue)}`,
      ]
        .filter(Boolean)
        .join(', '),
    (diff, key, label, x, y) => {
      diff.scalar(`${key}.description`, label, 'description', x.description, y.description);
      diff.members(`${key}.runsIn`, label, 'state', x.runsIn, y.runsIn, 'runsIn');
      diff.members(`${key}.pausedIn`, label, 'state', x.pausedIn ?? [], y.pausedIn ?? [], 'pausedIn');
      diff.scalar(`${key}.businessDays`, label, 'businessDays', x.businessDays, y.businessDays);
      diff.scalar(`${key}.days`, label, 'days', x.days, y.days);
      diff.scalar(`${key}.onDue`, label, 'onDue', x.onDue, y.onDue);
    },
  );

  section('incentivePrograms').keyed(
    'incentivePrograms',
    (code) => `incentive program ${code}`,
    byCode(a.incentivePrograms),
    byCode(b.incentivePrograms),
    (program) => program.name,
    (diff, key, label, x, y) => {
      diff.scalar(`${key}.name`, label, 'name', x.name, y.name);
      diff.scalar(`${key}.illustrative`, label, 'illustrative', x.illustrative ?? false, y.illustrative ?? false);
      diff.condition(`${key}.eligibility`, label, 'eligibility', x.eligibility, y.eligibility);
    },
  );

  const conflicts = section('conflicts');
  conflicts.scalar('conflicts.settle', 'conflicts', 'settle', a.conflicts?.settle, b.conflicts?.settle);
  conflicts.members('conflicts.activeStatuses', 'conflicts', 'state', a.conflicts?.activeStatuses ?? [], b.conflicts?.activeStatuses ?? [], 'activeStatuses');
  conflicts.scalar('conflicts.validPoe', 'conflicts', 'validPoe', a.conflicts?.validPoe, b.conflicts?.validPoe);
  conflicts.scalar('conflicts.description', 'conflicts', 'description', a.conflicts?.description, b.conflicts?.description);

  // Compared by meaning: an absent disputesPerClaim is its default; absent PoE limits are none.
  const limits = section('limits');
  const disputes = (p: Policy) => p.limits?.disputesPerClaim ?? DEFAULT_DISPUTES_PER_CLAIM;
  limits.scalar('limits.disputesPerClaim', 'limits', 'disputesPerClaim', disputes(a), disputes(b));
  for (const key of ['poeDocumentsPerClaim', 'poeBytesPerClaim'] as const) {
    limits.scalar(`limits.${key}`, 'limits', key, a.limits?.[key], b.limits?.[key]);
  }

  return { from: { id: a.id, version: a.version }, to: { id: b.id, version: b.version }, changes };
}

/** Collects one section's changes. */
class SectionDiff {
  constructor(
    private readonly section: PolicyDiffSection,
    private readonly changes: PolicyChange[],
  ) {}

  private push(change: Omit<PolicyChange, 'section'>): void {
    this.changes.push({ section: this.section, ...change });
  }

  /** A value compared whole (structurally): `label: field before → after`. */
  scalar(key: string, label: string, field: string, before: unknown, after: unknown): void {
    if (canonical(before) === canonical(after)) return;
    if (before === undefined) this.push({ key, kind: 'added', after, summary: `${label}: ${field} ${show(after)} added` });
    else if (after === undefined) this.push({ key, kind: 'removed', before, summary: `${label}: ${field} ${show(before)} removed` });
    else this.push({ key, kind: 'changed', before, after, summary: `${label}: ${field} ${show(before)} → ${show(after)}` });
  }

  /** A list of names compared as a set: one change per member added or removed. */
  members(key: string, label: string, noun: string, before: readonly string[], after: readonly string[], list?: string): void {
    for (const member of before) {
      if (!after.includes(member)) {
        this.push({
          key: `${key}.${member}`,
          kind: 'removed',
          before: member,
          summary: `${label}: ${noun} ${member} removed${list ? ` from ${list}` : ''}`,
        });
      }
    }
    for (const member of after) {
      if (!before.includes(member)) {
        this.push({
          key: `${key}.${member}`,
          kind: 'added',
          after: member,
          summary: `${label}: ${noun} ${member} added${list ? ` to ${list}` : ''}`,
        });
      }
    }
  }

  /** A rule condition: compared by structure; the summary narrows to the part that changed. */
  condition(key: string, label: string, field: string, before: Condition | undefined, after: Condition | undefined): void {
    if (canonical(before) === canonical(after)) return;
    if (before === undefined || after === undefined) {
      this.scalar(key, label, field, before, after);
      return;
    }
    const narrowed = narrow(before, after, '');
    const at = narrowed.at ? ` at ${narrowed.at.slice(1)}` : '';
    this.push({
      key,
      kind: 'changed',
      before,
      after,
      summary: `${label}: ${field}${at} ${renderCondition(narrowed.before)} → ${renderCondition(narrowed.after)}`,
    });
  }

  /** Entries by name or code: added, removed, or compared field by field. */
  keyed<T>(
    prefix: string,
    label: (name: string) => string,
    before: Map<string, T>,
    after: Map<string, T>,
    describe: (item: T) => string,
    compare: (diff: SectionDiff, key: string, label: string, before: T, after: T) => void,
  ): void {
    for (const [name, item] of before) {
      const key = `${prefix}.${name}`;
      const other = after.get(name);
      if (other === undefined) this.push({ key, kind: 'removed', before: item, summary: `${label(name)} removed (${describe(item)})` });
      else compare(this, key, label(name), item, other);
    }
    for (const [name, item] of after) {
      if (!before.has(name)) {
        this.push({ key: `${prefix}.${name}`, kind: 'added', after: item, summary: `${label(name)} added (${describe(item)})` });
      }
    }
  }
}

function entries<T>(record: Readonly<Record<string, T>> | undefined): Map<string, T> {
  return new Map(Object.entries(record ?? {}));
}

function byCode<T extends { code: string }>(list: readonly T[]): Map<string, T> {
  return new Map(list.map((item) => [item.code, item]));
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

// ---------------------------------------------------------------------------
// Structural comparison and rendering

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A canonical JSON text: object keys sorted, and the members of a condition's
 * `all` / `any` sorted (their order does not change what the condition means).
 */
function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const fields = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => {
        const member = value[key];
        const text =
          (key === 'all' || key === 'any') && Array.isArray(member) ? `[${member.map(canonical).sort().join(',')}]` : canonical(member);
        return `${JSON.stringify(key)}:${text}`;
      });
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The smallest part of two conditions that differs, following a single changed member down. */
function narrow(before: Condition, after: Condition, at: string): { at: string; before: Condition; after: Condition } {
  for (const op of ['all', 'any'] as const) {
    if (op in before && op in after) {
      const x = (before as Record<typeof op, Condition[]>)[op];
      const y = (after as Record<typeof op, Condition[]>)[op];
      if (x.length !== y.length) break;
      const differing = x.map((_, i) => i).filter((i) => canonical(x[i]) !== canonical(y[i]));
      if (differing.length === 1) {
        const i = differing[0]!;
        return narrow(x[i]!, y[i]!, `${at}.${op}[${i}]`);
      }
    }
  }
  if ('not' in before && 'not' in after) return narrow(before.not, after.not, `${at}.not`);
  return { at, before, after };
}

/** `all(poeCount greaterThan 0, any(datedPoeCount equal 0, newestPoeAgeDays greaterThan 365))`. */
function renderCondition(condition: Condition): string {
  if ('all' in condition) return `all(${condition.all.map(renderCondition).join(', ')})`;
  if ('any' in condition) return `any(${condition.any.map(renderCondition).join(', ')})`;
  if ('not' in condition) return `not(${renderCondition(condition.not)})`;
  const path = condition.path ? `${condition.path.replace(/^\$\.?/, '.')}` : '';
  return `${condition.fact}${path} ${condition.operator} ${show(condition.value)}`;
}

const LONG_TEXT = 80;

/** A value on one line: plain names bare, text quoted (and cut when long), lists and mappings in flow style. */
function show(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') {
    if (value.length > LONG_TEXT) return JSON.stringify(`${value.slice(0, LONG_TEXT - 1)}…`);
    return /^[\w.:@/+-]+$/.test(value) ? value : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (isObject(value)) {
    if ('fact' in value || 'all' in value || 'any' in value || 'not' in value) return renderCondition(value as Condition);
    const fields = Object.entries(value).filter(([, member]) => member !== undefined);
    return `{ ${fields.map(([key, member]) => `${key}: ${show(member)}`).join(', ')} }`;
  }
  return String(value);
}
