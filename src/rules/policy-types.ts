/**
 * The shape of a loaded, validated policy. The JSON Schema in `policy-schema.ts`
 * validates the YAML; the types of its parts are derived from that schema
 * (json-schema-to-ts) where it can say them, and written here where it cannot
 * (recursive conditions, deadlines' one-of, keys generated from the lifecycle's lists).
 * A loaded policy is deeply frozen.
 */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { CalendarPolicy } from '../calendar/calendar';
import type { ClaimField, EventType, StateId } from '../domain/claim-types';
import type { OptionalEvent, policySchema } from './policy-schema';

// The calendar owns the shape of its section (rules depend on the calendar, never the reverse).
export type { CalendarPolicy, Weekday } from '../calendar/calendar';

/**
 * A json-rules-engine condition tree (`all` / `any` / `not` / a fact comparison).
 * Hand-written: the schema's `condition` is recursive, which json-schema-to-ts cannot derive.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { fact: string; operator: string; value: unknown; path?: string };

type Definitions = typeof policySchema.definitions;
/** The schema's definitions as `$ref` targets; a condition stands in as an object (its type is `Condition`). */
type References = { readonly [K in keyof Definitions]: K extends 'condition' ? { readonly type: 'object' } : Definitions[K] };
/** The type of one of the schema's definitions, after the loader applied the schema's defaults. */
type Defined<K extends keyof Definitions> =
  Definitions[K] & { readonly definitions: References } extends infer S extends JSONSchema ? FromSchema<S> : never;
type Section<K extends keyof typeof policySchema.properties> = (typeof policySchema.properties)[K] & {
  readonly definitions: References;
} extends infer S extends JSONSchema
  ? FromSchema<S>
  : never;

export type RolePolicy = Defined<'role'>;
export type RoleKind = RolePolicy['kind'];

export type EventPolicy = Defined<'eventPolicy'>;

export type RejectionReason = Defined<'rejectionReason'>;

export type SubmissionRequirement = Omit<Defined<'submissionRequirement'>, 'when'> & { when: Condition };

/** `when` detects the deficiency automatically (advisory); without it, a code only reviewers cite. */
export type Deficiency = Omit<Defined<'deficiency'>, 'when'> & { when?: Condition };

export type DeadlineAction =
  | { escalate: true }
  | { send: EventType; with?: Record<string, unknown> }
  | { closes: EventType[] };

export interface DeadlinePolicy {
  description?: string;
  runsIn: StateId[];
  pausedIn?: StateId[];
  businessDays?: number;
  days?: number;
  onDue: DeadlineAction;
}

export type IncentiveProgram = Omit<Defined<'incentiveProgram'>, 'eligibility'> & { eligibility: Condition };

/**
 * One partner of record per customer tenant and product: which claims take part in
 * conflicts (defaults applied), and how the reviewer settles them. The service flags, never decides.
 */
export type ConflictPolicy = Section<'conflicts'>;
export type ConflictSettlement = ConflictPolicy['settle'];

export type { OptionalEvent } from './policy-schema';

/** Who may send each event: every event but the optional ones must be listed. */
export type EventsPolicy = Record<Exclude<EventType, OptionalEvent>, EventPolicy> & Partial<Record<OptionalEvent, EventPolicy>>;

/** Per-claim bounds. Absent keys: no limit, except disputes (DEFAULT_DISPUTES_PER_CLAIM). */
export type LimitsPolicy = Section<'limits'>;

export interface Policy {
  id: string;
  version: string;
  name: string;
  description?: string;
  /** ISO-8601 instant from which this version is in effect. */
  effective?: string;
  /** A candidate run in shadow: never in effect, evaluated beside the live version (policy-registry.ts). */
  shadow?: boolean;
  calendar: CalendarPolicy;
  roles: Record<string, RolePolicy>;
  events: EventsPolicy;
  editableFields: Partial<Record<StateId, ClaimField[]>>;
  rejectionReasons: RejectionReason[];
  submissionRequirements: SubmissionRequirement[];
  deficiencies: Deficiency[];
  deadlines: Record<string, DeadlinePolicy>;
  incentivePrograms: IncentiveProgram[];
  /** Absent: the policy flags no conflicts. */
  conflicts?: ConflictPolicy;
  /** Absent: one dispute per claim, no limit on PoE documents or bytes. */
  limits?: LimitsPolicy;
  /** What each status means to users, in English and German; absent: statuses are shown by name. */
  statuses?: Partial<Record<StateId, StatusText>>;
}

/** A text shown to users, in each shipped language. */
export interface LocalizedText {
  en: string;
  de: string;
}

/** A status's title, meaning and what happens next. */
export interface StatusText {
  title: LocalizedText;
  meaning: LocalizedText;
  next: LocalizedText;
}

/** The role name the service itself acts as (deadlines). Never a policy role. */
export const SYSTEM_ROLE = 'system';
