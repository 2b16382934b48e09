/**
 * JSON Schemas of each event's payload (the scenario `with:` and the API body).
 * The same schemas validate requests at the edge and document them in OpenAPI.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { describeAjvError, namedValidator, type SchemaIssue, type ValidatorOptions } from '../domain/json-schema';
import {
  BUSINESS_APPLICATIONS,
  DISPUTE_OUTCOMES,
  WORKLOADS,
  claimFieldProperties,
  claimFieldsSchema,
  type ClaimEvent,
  type EventType,
} from '../domain/claim-types';

// The claim fields' schemas belong to the claim's vocabulary; routes and OpenAPI read them here with the payloads.
export { claimFieldsSchema, contactSchema, productSchema } from '../domain/claim-types';

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const localDate = { type: 'string', format: 'date' } as const;

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
    properties: claimFieldProperties,
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

/** Each event's payload, as its schema admits it. */
export type EventPayloads = { [K in EventType]: FromSchema<(typeof EVENT_PAYLOAD_SCHEMAS)[K]> };

/** An event whose payload its schema admitted: what the machine's actions read. */
export type ValidEvent = { [K in EventType]: Omit<ClaimEvent, 'type' | 'payload'> & { type: K; payload: EventPayloads[K] } }[EventType];

/** The options the payload validators are compiled with (here, or ahead of time by the build: scripts/ajv-schemas.ts). */
export const EVENT_PAYLOAD_VALIDATOR_OPTIONS: ValidatorOptions = { allErrors: false, discriminator: true };

const validators = new Map(
  Object.entries(EVENT_PAYLOAD_SCHEMAS).map(([type, schema]) => [
    type,
    namedValidator<EventPayloads[EventType]>(`payload:${type}`, schema, EVENT_PAYLOAD_VALIDATOR_OPTIONS),
  ]),
);

/** Validates an event payload; returns the first problem, located, or undefined. */
export function validatePayload(type: EventType, payload: unknown): SchemaIssue | undefined {
  const validate = validators.get(type);
  if (!validate) return { path: '$', message: `unknown event ${type}` };
  if (validate(payload)) return undefined;
  return describeAjvError(validate.errors?.[0]);
}

/** Whether the event's payload is one its schema admits (then its fields are typed). */
export function isValidEvent(event: ClaimEvent): event is ClaimEvent & ValidEvent {
  return validatePayload(event.type, event.payload) === undefined;
}
