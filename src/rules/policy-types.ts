/**
 * The shape of a loaded, validated policy. The JSON Schema in `policy-schema.ts`
 * validates the YAML; this is the type code reads. A loaded policy is deeply frozen.
 */
import type { CalendarPolicy } from '../calendar/calendar';
import type { ClaimField, EventType, StateId } from '../domain/claim-types';

// The calendar owns the shape of its section (rules depend on the calendar, never the reverse).
export type { CalendarPolicy, Weekday } from '../calendar/calendar';

/** A json-rules-engine condition tree (`all` / `any` / `not` / a fact comparison). */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { fact: string; operator: string; value: unknown; path?: string };

export type RoleKind = 'partner' | 'reviewer' | 'customer' | 'internal';

export interface RolePolicy {
  kind: RoleKind;
  description?: string;
}

export interface EventPolicy {
  /** Role names, or `system` for the service itself. */
  roles: string[];
  description?: string;
}

export interface RejectionReason {
  code: string;
  description: string;
  /** Role names, or `system`. */
  usableBy: string[];
}

export interface SubmissionRequirement {
  code: string;
  message: string;
  when: Condition;
}

export interface Deficiency {
  code: string;
  description: string;
  /** Detects the deficiency automatically (advisory); optional: a code may be reviewer-only. */
  when?: Condition;
}

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

export interface IncentiveProgram {
  code: string;
  name: string;
  illustrative?: boolean;
  eligibility: Condition;
}

/** How the reviewer settles overlapping claims; `mostRecentValidPoe` is the only method the service knows. */
export type ConflictSettlement = 'mostRecentValidPoe';

/**
 * One partner of record per customer tenant and product: which claims take part in
 * conflicts, and how the reviewer settles them. The service flags, never decides.
 */
export interface ConflictPolicy {
  description?: string;
  /** States in which a claim takes part in conflicts (loader default: submitted, underReview, partnerActionRequired, approved). */
  activeStatuses: StateId[];
  settle: ConflictSettlement;
  /** What makes a PoE count for settling: always dated (signedOn); customer-signed unless `customerSigned` is false (default true). */
  validPoe: { customerSigned: boolean };
}

/**
 * Events added after policies were first written: a policy may leave them out, and
 * then nobody may send them (older policy files stay valid).
 */
export type OptionalEvent = 'removePoe';

/** Who may send each event: every event but the optional ones must be listed. */
export type EventsPolicy = Record<Exclude<EventType, OptionalEvent>, EventPolicy> & Partial<Record<OptionalEvent, EventPolicy>>;

/** Per-claim bounds. Absent keys: no limit, except disputes (DEFAULT_DISPUTES_PER_CLAIM). */
export interface LimitsPolicy {
  /** How many disputes a claim may have in its life (default 1). */
  disputesPerClaim?: number;
  /** How many PoE documents a claim may carry at once (default: no limit). */
  poeDocumentsPerClaim?: number;
  /** How many bytes of PoE files a claim may have stored, removed documents' files included (default: no limit). */
  poeBytesPerClaim?: number;
}

export interface Policy {
  id: string;
  version: string;
  name: string;
  description?: string;
  /** ISO-8601 instant from which this version is in effect. */
  effective?: string;
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
