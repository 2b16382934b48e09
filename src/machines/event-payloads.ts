/**
 * JSON Schemas of each event's payload (the scenario `with:` and the API body).
 * The same schemas validate requests at the edge and document them in OpenAPI.
 */
import type { ValidateFunction } from 'ajv';
import { createAjv, describeAjvError, type SchemaIssue } from '../domain/json-schema';
import {
  ACTIVITIES,
  BUSINESS_APPLICATIONS,
  DISPUTE_OUTCOMES,
  WORKLOADS,
  type EventType,
} from '../domain/claim-types';

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const localDate = { type: 'string', format: 'date' } as const;

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

const fieldProperties = {
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
} as const;

export const claimFieldsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['partnerId', 'mpnId', 'customer', 'activity', 'customerContact', 'partnerContact'],
  properties: fieldProperties,
} as const;

const optionalComment = {
  type: 'object',
  additionalProperties: false,
  properties: { comment: text(10_000) },
} as const;

export const EVENT_PAYLOAD_SCHEMAS = {
  create: claimFieldsSchema,
  edit: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: fieldProperties,
  },
  uploadPoe: {
    type: 'object',
    additionalProperties: false,
    required: ['fileName', 'customerSigned', 'products', 'describesWork'],
    properties: {
      fileName: text(255),
      customerSigned: { type: 'boolean', description: 'The customer signed the document.' },
      signedOn: { ...localDate, description: 'Date the customer signed (local date).' },
      products: {
        type: 'array',
        maxItems: 100,
        items: { enum: [...WORKLOADS, ...BUSINESS_APPLICATIONS] },
        description: 'Workload or product codes the document covers.',
      },
      describesWork: { type: 'boolean', description: "The document describes the partner's solution or service." },
    },
  },
  removePoe: {
    type: 'object',
    additionalProperties: false,
    required: ['poeId'],
    properties: {
      poeId: { ...text(200), description: 'The id of the PoE document to take off the claim.' },
      comment: text(10_000),
    },
  },
  comment: {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: { text: text(10_000) },
  },
  submit: optionalComment,
  startReview: optionalComment,
  requestInfo: {
    type: 'object',
    additionalProperties: false,
    required: ['deficiencies', 'comment'],
    properties: {
      deficiencies: { type: 'array', minItems: 1, maxItems: 20, uniqueItems: true, items: text(100) },
      comment: text(10_000),
    },
  },
  resubmit: optionalComment,
  approve: optionalComment,
  reject: {
    type: 'object',
    additionalProperties: false,
    required: ['reason'],
    properties: { reason: text(100), comment: text(10_000) },
  },
  withdraw: optionalComment,
  denyConsent: optionalComment,
  dispute: {
    type: 'object',
    additionalProperties: false,
    required: ['program', 'details'],
    properties: { program: text(100), details: text(10_000) },
  },
  resolveDispute: {
    type: 'object',
    additionalProperties: false,
    required: ['outcome', 'comment'],
    properties: { outcome: { enum: DISPUTE_OUTCOMES }, comment: text(10_000) },
  },
  sendForAssessment: { type: 'object', additionalProperties: false, properties: {} },
} as const satisfies Record<EventType, object>;

type PayloadIssue = SchemaIssue;

const ajv = createAjv({ allErrors: false, discriminator: true });

const validators = new Map<EventType, ValidateFunction>(
  (Object.keys(EVENT_PAYLOAD_SCHEMAS) as EventType[]).map((type) => [
    type,
    ajv.compile(EVENT_PAYLOAD_SCHEMAS[type]),
  ]),
);

/** Validates an event payload; returns the first problem, located, or undefined. */
export function validatePayload(type: EventType, payload: unknown): PayloadIssue | undefined {
  const validate = validators.get(type);
  if (!validate) return { path: '$', message: `unknown event ${type}` };
  if (validate(payload)) return undefined;
  return describeAjvError(validate.errors?.[0]);
}
