/**
 * The policy file's JSON Schema (draft-07, so editors' YAML plugins can use it).
 * Its descriptions are the policy format's reference: editors show them as hover
 * help. What a schema cannot say (role names, cross-references, time zones) the
 * loader checks afterwards (`load-policy.ts`).
 */
import { CLAIM_FIELDS, EVENT_TYPES, STATE_IDS } from '../domain/claim-types';
import type { EventType, StateId } from '../domain/claim-types';
import { FACT_CATALOG, OPERATORS } from './fact-catalog';
import type { Weekday } from '../calendar/calendar';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const satisfies readonly Weekday[];
const DEFAULT_WORKWEEK = ['mon', 'tue', 'wed', 'thu', 'fri'] as const satisfies readonly Weekday[];
const ROLE_KINDS = ['partner', 'reviewer', 'customer', 'internal'] as const;
/** How the reviewer settles overlapping claims; `mostRecentValidPoe` is the only method the service knows. */
const CONFLICT_SETTLEMENTS = ['mostRecentValidPoe'] as const;
/** States in which a claim takes part in conflicts when `conflicts.activeStatuses` is not given. */
const DEFAULT_ACTIVE_STATUSES = ['submitted', 'underReview', 'partnerActionRequired', 'approved'] as const satisfies readonly StateId[];

/**
 * Events added after policies were first written: a policy may leave them out of
 * `events`, and then nobody may send them (older policy files stay valid).
 */
const OPTIONAL_EVENTS = ['removePoe'] as const satisfies readonly EventType[];
export type OptionalEvent = (typeof OPTIONAL_EVENTS)[number];
/** Disputes a claim may have when the policy sets no `limits.disputesPerClaim`: a rejection is disputed once. */
export const DEFAULT_DISPUTES_PER_CLAIM = 1;

const EVENT_DOCS = {
  create: 'Creates a claim (status editing).',
  edit: 'Changes claim fields; which fields, per status, is `editableFields`.',
  uploadPoe: 'Adds a proof-of-execution document (signed no later than the local date of the upload; within `limits`).',
  removePoe:
    'Takes a proof-of-execution document off the claim (`{ poeId, comment? }`), in the states where `uploadPoe` is possible; the stored file and the history stay. Optional: without this entry nobody may remove a PoE.',
  comment: 'Adds a comment, in any status.',
  submit: 'Sends the claim for review (editing → submitted); every `submissionRequirements` rule must pass.',
  startReview: 'A reviewer picks the claim up (submitted → underReview).',
  requestInfo: 'Asks the partner for more information, citing deficiency codes (underReview → partnerActionRequired).',
  resubmit: 'The partner answers a request for information (partnerActionRequired → underReview).',
  approve: 'Approves the claim; the customer may opt out (underReview → approved.consentPending).',
  reject: 'Rejects the claim with a rejection reason the sender may use (`rejectionReasons[].usableBy`).',
  withdraw: 'The partner withdraws the claim (→ rejected, reason partnerRequest).',
  denyConsent: 'The customer opts out (approved.consentPending → rejected, reason customerDecline).',
  dispute: 'Disputes a rejection while the dispute window is open (rejected → disputed).',
  resolveDispute: 'Decides a dispute (disputed → rejected, approved.consentPending or partnerActionRequired).',
  sendForAssessment: 'Sends an approved claim to incentive assessment (approved.consentPending → approved.sentForAssessment).',
} as const satisfies Record<EventType, string>;

const STATE_DOCS = {
  editing: 'the claim is being written (not yet submitted)',
  submitted: 'the claim waits for a reviewer',
  underReview: 'a reviewer is reviewing the claim',
  partnerActionRequired: 'the reviewer asked the partner for more information',
  approved: 'the claim is approved (either substatus)',
  'approved.consentPending': 'the claim is approved and the customer may still opt out',
  'approved.sentForAssessment': 'the claim is approved and sent to incentive assessment',
  rejected: 'the claim is rejected',
  disputed: 'the partner disputes the rejection',
} as const satisfies Record<StateId, string>;

const fromEntries = <K extends string, V>(keys: readonly K[], value: (key: K) => V): Record<K, V> =>
  Object.fromEntries(keys.map((key) => [key, value(key)])) as Record<K, V>;

const codeRef = (what: string) => ({
  $ref: '#/definitions/code',
  description: `The ${what}'s code: unique in this list; claims, the API and the history refer to it.`,
}) as const;

export const policySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'CPOR claims policy',
  description:
    'A Claimed Partner of Record program policy: calendar, roles, permissions, rejection reasons, PoE deficiencies, submission requirements, deadlines and incentive eligibility. Lint it with `cpor policy lint`.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'name', 'roles', 'events'],
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      description: 'The program this policy is for (e.g. `cpor`). Versions of one program share the id.',
    },
    version: {
      type: 'string',
      minLength: 1,
      description:
        'This policy version, a string: quote it when it looks like a number (`version: "2026.1"`). Claims and their history record the id and version that decided them.',
    },
    name: { type: 'string', minLength: 1, description: 'A human-readable title for the policy.' },
    description: { type: 'string', description: 'Free text about this policy or version (what changed, why).' },
    effective: {
      type: 'string',
      format: 'date-time',
      description: 'The instant from which this version is in effect: ISO-8601 with a time zone (`2026-01-01T00:00:00Z`).',
    },
    shadow: {
      type: 'boolean',
      description:
        'A candidate run in shadow: `true` keeps this version out of effect whatever its `effective` instant. The service evaluates it beside the live version on every transition, changes no claim, and records each difference in the decision log and the shadow report.',
    },
    calendar: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The business calendar deadlines are counted in. Default: UTC, Monday to Friday, no holidays.',
      properties: {
        timeZone: {
          type: 'string',
          minLength: 1,
          default: 'UTC',
          description: 'IANA time zone (`America/Los_Angeles`) in which dates are taken. Default `UTC`.',
        },
        workweek: {
          type: 'array',
          items: { $ref: '#/definitions/weekday' },
          minItems: 1,
          uniqueItems: true,
          default: [...DEFAULT_WORKWEEK],
          description: 'The business days of the week (`mon`..`sun`). Default Monday to Friday.',
        },
        holidays: {
          type: 'array',
          items: {
            type: 'string',
            pattern: '^\\d{4}-\\d{2}-\\d{2}$',
            description: 'A local date, YYYY-MM-DD, that is not a business day.',
          },
          default: [],
          description: 'Local dates (YYYY-MM-DD) that are not business days. Default none.',
        },
      },
    },
    roles: {
      type: 'object',
      description:
        'The roles of this program, by name. Events and rejection reasons refer to these names; `system` (the service itself, for deadlines) is reserved and never defined here.',
      additionalProperties: { $ref: '#/definitions/role' },
    },
    events: {
      type: 'object',
      additionalProperties: false,
      required: EVENT_TYPES.filter((event) => !(OPTIONAL_EVENTS as readonly string[]).includes(event)),
      description: `Who may send each event of the claim lifecycle. Every event must be listed, except ${OPTIONAL_EVENTS.join(', ')} (without an entry nobody may send it). \`system\` in \`roles\` lets the service send it when a deadline falls due.`,
      properties: fromEntries(EVENT_TYPES, (event) => ({
        $ref: '#/definitions/eventPolicy',
        description: EVENT_DOCS[event],
      })),
    },
    editableFields: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'The claim fields a partner may change with `edit`, per state. A state not listed allows no edits. `partnerId` is never editable (the owner never changes).',
      properties: fromEntries(STATE_IDS, (state) => ({
        type: 'array',
        items: { $ref: '#/definitions/claimField' },
        uniqueItems: true,
        description: `Fields editable while ${STATE_DOCS[state]} (\`${state}\`).`,
      })),
    },
    rejectionReasons: {
      type: 'array',
      items: { $ref: '#/definitions/rejectionReason' },
      default: [],
      description:
        'Why a claim may be rejected, and who may give each reason. The service relies on `partnerRequest` (withdraw) and `customerDecline` (denyConsent).',
    },
    submissionRequirements: {
      type: 'array',
      items: { $ref: '#/definitions/submissionRequirement' },
      default: [],
      description: 'Rules a claim must pass before `submit`; a failing rule refuses the submission with its message.',
    },
    deficiencies: {
      type: 'array',
      items: { $ref: '#/definitions/deficiency' },
      default: [],
      description:
        'PoE deficiency codes reviewers cite in `requestInfo`. A `when` rule detects the deficiency automatically (advisory: shown to partner and reviewer, never blocking).',
    },
    deadlines: {
      type: 'object',
      default: {},
      description: 'Named deadlines (clocks) on the claim, by name. The name appears in overdue flags and timelines.',
      additionalProperties: { $ref: '#/definitions/deadline' },
    },
    incentivePrograms: {
      type: 'array',
      items: { $ref: '#/definitions/incentiveProgram' },
      default: [],
      description: 'Incentive programs whose eligibility is assessed when a claim is sent for assessment.',
    },
    conflicts: {
      type: 'object',
      additionalProperties: false,
      required: ['settle'],
      description:
        'One partner of record per customer tenant and product. Two claims conflict when they are on the same customer tenant, belong to different partners, share at least one product code (a Microsoft 365 workload, a Business Applications product, or a Business Applications subscription ID) and both are in an `activeStatuses` state. Both claims are flagged to reviewers and program managers (never to partners); the service changes no claim because of a conflict: the reviewer decides, guided by `settle`. Without this section no conflicts are flagged.',
      properties: {
        description: { type: 'string', description: 'Notes on the rule (what the program guide says about overlapping claims).' },
        activeStatuses: {
          type: 'array',
          items: { $ref: '#/definitions/stateId' },
          minItems: 1,
          uniqueItems: true,
          default: [...DEFAULT_ACTIVE_STATUSES],
          description: `States in which a claim takes part in conflicts (\`approved\` covers both substatuses). Default ${DEFAULT_ACTIVE_STATUSES.join(', ')}.`,
        },
        settle: {
          type: 'string',
          enum: [...CONFLICT_SETTLEMENTS],
          description:
            'How the reviewer settles a conflict. `mostRecentValidPoe`: keep the claim whose newest valid PoE (see `validPoe`) was signed most recently; on a tie, or when no claim has a valid PoE, the service names no claim and the reviewer decides.',
        },
        validPoe: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description:
            'Which PoE documents count when settling (no conditions, on purpose): a PoE is valid when it is dated (`signedOn`; always required, since the most recent one wins) and signed by the customer (`customerSigned`). Default: customer-signed and dated.',
          properties: {
            customerSigned: {
              type: 'boolean',
              default: true,
              description: 'Whether a PoE must be signed by the customer to count. Default true.',
            },
          },
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      description: `Bounds per claim. Without this section (or a key of it): ${DEFAULT_DISPUTES_PER_CLAIM} dispute per claim, no limit on PoE documents or bytes. A refused event answers a code (disputeLimitReached, poeLimitReached, poeBytesLimitReached) and what to do.`,
      properties: {
        disputesPerClaim: {
          type: 'integer',
          minimum: 1,
          description: `How many times a claim may be disputed in its life, whatever the outcome of earlier disputes (an upheld dispute opens a new dispute window, but not a new dispute beyond this). Default ${DEFAULT_DISPUTES_PER_CLAIM}.`,
        },
        poeDocumentsPerClaim: {
          type: 'integer',
          minimum: 1,
          description: 'How many PoE documents a claim may carry at once; `uploadPoe` beyond it is refused (`removePoe` frees a place). Default: no limit.',
        },
        poeBytesPerClaim: {
          type: 'integer',
          minimum: 1,
          description:
            "How many bytes of PoE files a claim may have stored; an upload that would take the total over it is refused. Removed documents' files stay stored and count. Default: no limit.",
        },
      },
    },
    statuses: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'What each status means to the people who see it, in English and German: a title, what the status means and what happens next (the dashboard shows them; the API answers them in the language of Accept-Language). `approved.consentPending` and `approved.sentForAssessment` fall back to `approved`. A status without texts is shown by its name.',
      properties: fromEntries(STATE_IDS, (state) => ({
        $ref: '#/definitions/statusText',
        description: `Texts shown while ${STATE_DOCS[state]} (\`${state}\`).`,
      })),
    },
  },
  definitions: {
    statusText: {
      type: 'object',
      additionalProperties: false,
      required: ['title', 'meaning', 'next'],
      description: 'The texts of one status, each in English and German.',
      properties: {
        title: { $ref: '#/definitions/localizedText', description: 'The status as people call it (`Under review`).' },
        meaning: { $ref: '#/definitions/localizedText', description: 'What the status means (as the program guide words it).' },
        next: { $ref: '#/definitions/localizedText', description: 'What happens next, and what the partner can do.' },
      },
    },
    localizedText: {
      type: 'object',
      additionalProperties: false,
      required: ['en', 'de'],
      description: 'A text shown to users, in English (`en`) and German (`de`).',
      properties: {
        en: { type: 'string', minLength: 1, description: 'English.' },
        de: { type: 'string', minLength: 1, description: 'German.' },
      },
    },
    code: {
      type: 'string',
      minLength: 1,
      description: 'A machine-readable code (e.g. `insufficientPoe`).',
    },
    weekday: {
      type: 'string',
      enum: [...WEEKDAYS],
      description: 'A day of the week: mon, tue, wed, thu, fri, sat, sun.',
    },
    stateId: {
      type: 'string',
      enum: [...STATE_IDS],
      description: 'A claim state: a status, or `approved.consentPending` / `approved.sentForAssessment`.',
    },
    eventType: {
      type: 'string',
      enum: [...EVENT_TYPES],
      description: 'An event of the claim lifecycle.',
    },
    claimField: {
      type: 'string',
      enum: [...CLAIM_FIELDS],
      description: 'A claim field.',
    },
    factName: {
      type: 'string',
      enum: Object.keys(FACT_CATALOG),
      description: `A fact computed from the claim: ${Object.entries(FACT_CATALOG)
        .map(([name, fact]) => `\`${name}\` (${fact.description.replace(/\.$/, '')})`)
        .join('; ')}.`,
    },
    operator: {
      type: 'string',
      enum: [...OPERATORS],
      description: `A json-rules-engine operator: ${OPERATORS.join(', ')}.`,
    },
    roleName: {
      type: 'string',
      minLength: 1,
      description: 'A role defined in `roles`, or `system` (the service itself).',
    },
    roleList: {
      type: 'array',
      items: { $ref: '#/definitions/roleName' },
      uniqueItems: true,
      description: 'Role names (from `roles`), or `system`.',
    },
    stateList: {
      type: 'array',
      items: { $ref: '#/definitions/stateId' },
      uniqueItems: true,
      description: 'Claim states.',
    },
    role: {
      type: 'object',
      additionalProperties: false,
      required: ['kind'],
      description: 'A role of this program.',
      properties: {
        kind: {
          type: 'string',
          enum: [...ROLE_KINDS],
          description:
            "How the role relates to a claim: `partner` (acts only on its own partner ID's claims), `reviewer`, `customer` (only claims on its tenant), `internal` (reads; changes no claim).",
        },
        description: { type: 'string', description: 'Who holds this role.' },
      },
    },
    eventPolicy: {
      type: 'object',
      additionalProperties: false,
      required: ['roles'],
      description: 'Who may send this event.',
      properties: {
        roles: {
          $ref: '#/definitions/roleList',
          description: 'Roles that may send this event; `system` lets deadlines send it. At least one.',
        },
        description: { type: 'string', description: 'Notes on this permission.' },
      },
    },
    rejectionReason: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'description', 'usableBy'],
      description: 'A reason a claim may be rejected.',
      properties: {
        code: codeRef('rejection reason'),
        description: { type: 'string', minLength: 1, description: 'What the reason means, as shown to the partner.' },
        usableBy: {
          $ref: '#/definitions/roleList',
          description: 'Roles that may reject (or withdraw, or deny consent) with this reason; `system` for deadlines.',
        },
      },
    },
    submissionRequirement: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message', 'when'],
      description: 'A rule a claim must pass before it can be submitted.',
      properties: {
        code: codeRef('requirement'),
        message: {
          type: 'string',
          minLength: 1,
          description: 'What the partner must do when the rule fails (the refusal sentence).',
        },
        when: { $ref: '#/definitions/condition', description: 'The condition that must hold for the claim to be submitted.' },
      },
    },
    deficiency: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'description'],
      description: 'A PoE deficiency reviewers may cite in `requestInfo`.',
      properties: {
        code: codeRef('deficiency'),
        description: { type: 'string', minLength: 1, description: 'What is wrong with the PoE, as shown to the partner.' },
        when: {
          $ref: '#/definitions/condition',
          description: 'Detects the deficiency automatically (advisory). Without it, only reviewers cite the code.',
        },
      },
    },
    incentiveProgram: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'name', 'eligibility'],
      description: 'An incentive program whose eligibility is assessed for approved claims.',
      properties: {
        code: codeRef('incentive program'),
        name: { type: 'string', minLength: 1, description: "The program's name." },
        illustrative: {
          type: 'boolean',
          description: "True when the rules are examples, not the program guide's real rules.",
        },
        eligibility: { $ref: '#/definitions/condition', description: 'The condition a claim meets to be eligible.' },
      },
    },
    deadline: {
      type: 'object',
      additionalProperties: false,
      required: ['runsIn', 'onDue'],
      oneOf: [{ required: ['businessDays'] }, { required: ['days'] }],
      description:
        'A clock on the claim. It starts when the claim enters a `runsIn` state from outside `runsIn` and `pausedIn`, stands still in `pausedIn`, and is met when the claim moves anywhere else before it is due. Exactly one of `businessDays` or `days`.',
      properties: {
        description: { type: 'string', description: 'What the deadline is for.' },
        runsIn: { $ref: '#/definitions/stateList', description: 'States in which the clock runs. At least one.' },
        pausedIn: {
          $ref: '#/definitions/stateList',
          default: [],
          description: 'States in which the clock stands still (it resumes on returning to `runsIn`). Must not overlap `runsIn`.',
        },
        businessDays: {
          type: 'integer',
          minimum: 1,
          description:
            'Duration in business days: due on the Nth business day after the start date (the start date never counts; workweek and holidays per `calendar`).',
        },
        days: { type: 'integer', minimum: 1, description: 'Duration in calendar days: due N days after the start date.' },
        onDue: { $ref: '#/definitions/deadlineAction', description: 'What happens when the deadline falls due (00:00 local time after the due date).' },
      },
    },
    deadlineAction: {
      type: 'object',
      additionalProperties: false,
      oneOf: [{ required: ['escalate'] }, { required: ['send'] }, { required: ['closes'] }],
      dependencies: { with: ['send'] },
      description: 'Exactly one of `escalate: true`, `send: EVENT` (with an optional `with` payload), or `closes: [EVENTS]`.',
      properties: {
        escalate: {
          const: true,
          description: "Flag the claim overdue with this deadline's name; its status does not change.",
        },
        send: {
          $ref: '#/definitions/eventType',
          description: 'Send this event as `system` (its `events` entry must list `system`).',
        },
        with: {
          type: 'object',
          description: 'The payload of the sent event; `reject` needs `reason:` a rejection reason usable by `system`.',
        },
        closes: {
          type: 'array',
          items: { $ref: '#/definitions/eventType' },
          minItems: 1,
          uniqueItems: true,
          description: 'Events refused once the deadline has passed (a window, e.g. `dispute`).',
        },
      },
    },
    condition: {
      type: 'object',
      additionalProperties: false,
      oneOf: [{ required: ['all'] }, { required: ['any'] }, { required: ['not'] }, { required: ['fact'] }],
      dependencies: { fact: ['operator', 'value'], operator: ['fact'], value: ['fact'], path: ['fact'] },
      description:
        'A json-rules-engine condition: exactly one of `all: [...]`, `any: [...]`, `not: {...}`, or a fact comparison `{ fact, operator, value }`.',
      properties: {
        all: {
          type: 'array',
          items: { $ref: '#/definitions/condition' },
          description: 'Holds when every condition in the list holds.',
        },
        any: {
          type: 'array',
          items: { $ref: '#/definitions/condition' },
          description: 'Holds when at least one condition in the list holds.',
        },
        not: { $ref: '#/definitions/condition', description: 'Holds when the condition does not hold.' },
        fact: { $ref: '#/definitions/factName', description: 'The fact to compare (computed from the claim).' },
        operator: { $ref: '#/definitions/operator', description: 'How the fact is compared with `value`.' },
        value: { description: 'The value the fact is compared with (a list for `in` / `notIn`).' },
        path: { type: 'string', description: "A JSONPath into the fact's value, compared instead of the whole value." },
      },
    },
  },
} as const;

/** The schema as written to `policies/policy.schema.json` (2-space JSON and a newline). */
export function renderPolicySchema(): string {
  return `${JSON.stringify(policySchema, null, 2)}\n`;
}
