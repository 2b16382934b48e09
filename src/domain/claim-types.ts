/** The claim's vocabulary: fields (their JSON Schemas and the types derived from them), statuses, events and actors (DESIGN.md). */
import type { FromSchema } from 'json-schema-to-ts';

export const STATUSES = [
  'editing',
  'submitted',
  'underReview',
  'partnerActionRequired',
  'approved',
  'rejected',
  'disputed',
] as const;
export type Status = (typeof STATUSES)[number];

export const SUBSTATUSES = ['consentPending', 'sentForAssessment'] as const;
export type Substatus = (typeof SUBSTATUSES)[number];

/** A state a policy can name: a status, or `approved.<substatus>`. */
export const STATE_IDS = [
  'editing',
  'submitted',
  'underReview',
  'partnerActionRequired',
  'approved',
  'approved.consentPending',
  'approved.sentForAssessment',
  'rejected',
  'disputed',
] as const;
export type StateId = (typeof STATE_IDS)[number];

/** Whether a machine state lies in a state a policy names: `approved.consentPending` is in `approved`, and each state in itself. */
export function isInState(state: string, policyState: string): boolean {
  return state === policyState || state.startsWith(`${policyState}.`);
}

/** Whether a machine state lies in any of the states a policy names (none: false). */
export function isInAnyState(state: string, policyStates: readonly string[] | undefined): boolean {
  return (policyStates ?? []).some((policyState) => isInState(state, policyState));
}

export const EVENT_TYPES = [
  'create',
  'edit',
  'uploadPoe',
  'removePoe',
  'comment',
  'submit',
  'startReview',
  'requestInfo',
  'resubmit',
  'approve',
  'reject',
  'withdraw',
  'denyConsent',
  'dispute',
  'resolveDispute',
  'sendForAssessment',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CLAIM_FIELDS = [
  'name',
  'partnerId',
  'mpnId',
  'customer',
  'activity',
  'products',
  'customerContact',
  'partnerContact',
] as const;
export type ClaimField = (typeof CLAIM_FIELDS)[number];

export const ACTIVITIES = ['preSales', 'deployment', 'usage', 'revenueAssociation'] as const;

export const WORKLOADS = [
  'exchange',
  'sharePoint',
  'oneDrive',
  'teams',
  'intune',
  'windows',
  'office365Apps',
] as const;

export const BUSINESS_APPLICATIONS = [
  'dynamics365Sales',
  'dynamics365CustomerService',
  'dynamics365FieldService',
  'dynamics365Finance',
  'dynamics365SupplyChain',
  'powerApps',
  'powerAutomate',
  'powerBI',
] as const;

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;

/** A contact person (the customer's). */
export const contactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'email'],
  properties: {
    name: text(200),
    email: { type: 'string', format: 'email', maxLength: 320 },
    title: text(200),
  },
} as const;

/** A claimed product: a Microsoft 365 workload, or a Business Applications product with its subscription. */
export const productSchema = {
  type: 'object',
  required: ['line'],
  properties: { line: { enum: ['microsoft365', 'businessApplications'] } },
  discriminator: { propertyName: 'line' },
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['line', 'workload'],
      properties: { line: { const: 'microsoft365' }, workload: { enum: WORKLOADS } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['line', 'product', 'subscriptionId'],
      properties: {
        line: { const: 'businessApplications' },
        product: { enum: BUSINESS_APPLICATIONS },
        subscriptionId: text(100),
      },
    },
  ],
} as const;
export type Product = FromSchema<typeof productSchema>;

/** Each claim field's schema (`edit` sends any of them; `create` the required ones). */
export const claimFieldProperties = {
  name: text(200),
  partnerId: { type: 'string', pattern: '^[0-9]{5,12}$', description: 'Partner ID (digits).' },
  mpnId: { type: 'string', pattern: '^[0-9]{5,12}$', description: 'MPN ID of the partner location (digits).' },
  customer: {
    type: 'object',
    additionalProperties: false,
    required: ['tenantId', 'domain', 'name'],
    properties: {
      tenantId: { type: 'string', format: 'uuid', description: 'Entra tenant ID of the customer.' },
      domain: { type: 'string', format: 'hostname', maxLength: 253 },
      name: text(200),
    },
  },
  activity: { enum: ACTIVITIES },
  products: { type: 'array', maxItems: 100, items: productSchema },
  customerContact: contactSchema,
  partnerContact: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'email'],
    properties: { name: text(200), email: { type: 'string', format: 'email', maxLength: 320 } },
  },
} as const satisfies Record<ClaimField, object>;

/** A claim's fields as `create` takes them (`products` may be left out: none yet). */
export const claimFieldsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['partnerId', 'mpnId', 'customer', 'activity', 'customerContact', 'partnerContact'],
  properties: claimFieldProperties,
} as const;

/** A claim's fields as the claim holds them: `products` always present (empty when none were given). */
export type ClaimFields = Omit<FromSchema<typeof claimFieldsSchema>, 'products'> & { products: Product[] };

/** Metadata of one proof-of-execution document (the file itself is stored apart). */
export interface PoeDocument {
  id: string;
  fileName: string;
  customerSigned: boolean;
  /** Local date YYYY-MM-DD the customer signed, if the document is dated. */
  signedOn?: string;
  /** Workload or product codes the document covers. */
  products: string[];
  describesWork: boolean;
  uploadedAt: string;
  uploadedBy: string;
  /** Set when a file was uploaded (API): content address and size. */
  sha256?: string;
  size?: number;
  contentType?: string;
}

/** Who sends an event. Partner roles carry their partner ID, customers their tenant ID. */
export interface Actor {
  role: string;
  partnerId?: string;
  tenantId?: string;
  /** A user or service id, for the history. */
  id?: string;
}

/** What a dispute records (the reference's list; MPN ID, claim ID, tenant and products come from the claim). */
export interface DisputeRecord {
  program: string;
  details: string;
  raisedAt: string;
  raisedBy: string;
  claimId: string;
  mpnId: string;
  tenantId: string;
  /** Business Applications: products with subscriptions; Microsoft 365: workloads. */
  products: Product[];
  resolution?: { outcome: DisputeOutcome; comment: string; at: string; by: string };
}

/** A document taken off the claim by `removePoe`; its file stays stored (the history refers to it). */
export interface RemovedPoeDocument extends PoeDocument {
  removedAt: string;
  removedBy: string;
  comment?: string;
}

export const DISPUTE_OUTCOMES = ['upheld', 'approved', 'partnerActionRequired'] as const;
export type DisputeOutcome = (typeof DISPUTE_OUTCOMES)[number];

/** The machine's context: the claim as the lifecycle sees it. Plain JSON. */
export interface ClaimContext {
  id: string;
  fields: ClaimFields;
  poe: PoeDocument[];
  /** Documents removed from the claim (absent until the first removal); their files stay stored and count toward `limits.poeBytesPerClaim`. */
  removedPoe?: RemovedPoeDocument[];
  reason: string | null;
  /** Deficiency codes of the latest request for information. */
  requestedDeficiencies: string[];
  disputes: DisputeRecord[];
}

/** Facts the service works out before stepping the machine (rules are async; guards are not). */
export interface EventMeta {
  claimId?: string;
  poeId?: string;
  /** Submission requirements evaluated against the claim as it is now. */
  requirements?: { passed: boolean; failed: Array<{ code: string; message: string }> };
  /** Events closed by a deadline that has lapsed (a window), with that deadline's name. */
  closedEvents?: Partial<Record<EventType, string>>;
  /** Extra file facts of an uploaded PoE (API). */
  file?: { sha256: string; size: number; contentType: string };
}

export interface ClaimEvent {
  type: EventType;
  actor: Actor;
  /** ISO-8601 instant the event happens. */
  at: string;
  payload: Record<string, unknown>;
  meta?: EventMeta;
}
