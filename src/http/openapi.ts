/**
 * The OpenAPI 3.1 document, built from the route list the app mounts and from the
 * same JSON Schemas that validate requests, so the two cannot drift apart.
 */
import { STATUS_CODES } from 'node:http';
import { EVENT_TYPES } from '../domain/claim-types';
import { ERROR_CODES } from '../domain/error-codes';
import { claimFieldsSchema, contactSchema, EVENT_PAYLOAD_SCHEMAS, productSchema } from '../machines/event-payloads';
import type { Policy } from '../rules/policy-types';
import { schemaName } from './claims-routes';
import { PROBLEM_CONTENT_TYPE } from './errors';
import { openApiPath, problemStatusesOf, type RouteSpec } from './route-spec';
import {
  claimListSchema,
  claimViewSchema,
  commentSchema,
  disputeViewSchema,
  historyEntrySchema,
  outboxMessageSchema,
  poeViewSchema,
} from './views';

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details.',
  required: ['type', 'title', 'status', 'detail', 'code', 'instance'],
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'A sentence a person can act on.' },
    code: {
      type: 'string',
      enum: Object.keys(ERROR_CODES),
      description: 'Machine-readable code, one HTTP status each (the catalog: `x-error-codes` at the top of this document).',
    },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      description: 'What was wrong with the input, each at its JSONPath.',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string', description: 'JSONPath, e.g. $.products[0].workload' }, message: { type: 'string' } },
      },
    },
    details: { type: 'object', description: 'Facts behind a refusal (allowed states, failed requirements, …).' },
  },
} as const;

type Json = Record<string, unknown>;

/** Named schemas: a route that uses one of these objects refers to it instead of repeating it. */
function namedSchemas(): Map<object, string> {
  const names = new Map<object, string>([
    [problemSchema, 'Problem'],
    [claimFieldsSchema, 'ClaimFields'],
    [productSchema, 'Product'],
    [contactSchema, 'Contact'],
    [claimViewSchema, 'Claim'],
    [claimListSchema, 'ClaimList'],
    [poeViewSchema, 'PoeDocument'],
    [disputeViewSchema, 'Dispute'],
    [historyEntrySchema, 'HistoryEntry'],
    [commentSchema, 'Comment'],
    [outboxMessageSchema, 'OutboxMessage'],
  ]);
  for (const event of EVENT_TYPES) {
    if (!names.has(EVENT_PAYLOAD_SCHEMAS[event])) names.set(EVENT_PAYLOAD_SCHEMAS[event], schemaName(event));
  }
  return names;
}

export function buildOpenApi(routes: readonly RouteSpec[], policy: Policy): Json {
  const names = namedSchemas();
  const ref = (schema: object): object => {
    const name = names.get(schema);
    if (name) return { $ref: `#/components/schemas/${name}` };
    const anyOf = (schema as { anyOf?: object[] }).anyOf;
    if (anyOf) return { ...schema, anyOf: anyOf.map(ref) };
    return schema;
  };
  const usedProblems = new Set<number>();
  const paths: Record<string, Record<string, Json>> = {};

  for (const route of routes) {
    const path = openApiPath(route.path);
    const pathParams = [...route.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
    const parameters = [
      ...pathParams.map((name) => ({ name, in: 'path', required: true, schema: route.params?.[name] ?? { type: 'string' } })),
      ...Object.entries(route.query?.properties ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: route.query?.required?.includes(name) ?? false,
        schema,
        ...((schema as { description?: string }).description ? { description: (schema as { description: string }).description } : {}),
      })),
      ...(route.headers ?? []).map((h) => ({
        name: h.name,
        in: 'header',
        required: h.required,
        description: h.description,
        schema: { type: 'string' },
      })),
    ];
    const responses: Record<string, Json> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers
          ? { headers: Object.fromEntries(response.headers.map((h) => [h, { schema: { type: 'string' } }])) }
          : {}),
        ...(response.content
          ? { content: Object.fromEntries(Object.entries(response.content).map(([type, schema]) => [type, { schema: ref(schema) }])) }
          : {}),
      };
    }
    for (const status of problemStatusesOf(route)) {
      usedProblems.add(status);
      responses[String(status)] ??= { $ref: `#/components/responses/Problem${status}` };
    }
    (paths[path] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(route.auth ? {} : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: route.body.required,
              ...(route.body.description ? { description: route.body.description } : {}),
              content: Object.fromEntries(
                Object.entries(route.body.content).map(([type, schema]) => [type, { schema: ref(schema) }]),
              ),
            },
          }
        : {}),
      responses,
    };
  }

  const schemas = {
    ...Object.fromEntries([...names].map(([schema, name]) => [name, schema])),
    // Every event's payload under its own name, also where events share one schema.
    ...Object.fromEntries(EVENT_TYPES.map((event) => [schemaName(event), EVENT_PAYLOAD_SCHEMAS[event]])),
  };
  const problemResponses = Object.fromEntries(
    [...usedProblems].sort((a, b) => a - b).map((status) => [
      `Problem${status}`,
      {
        description: STATUS_CODES[status] ?? 'Error',
        ...(status === 401 ? { headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } } : {}),
        ...(status === 503 ? { headers: { 'Retry-After': { schema: { type: 'string' } } } } : {}),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ]),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'CPOR claims policy service',
      version: '1',
      description:
        `Claimed Partner of Record customer-association claims under policy ${policy.id} ${policy.version}. ` +
        'Errors are RFC 9457 problem+json with a machine-readable code. Writes answer an ETag (the claim version); ' +
        'PATCH and actions need If-Match. POSTs accept Idempotency-Key. A method a path does not answer is a 405 problem ' +
        'with Allow; requests Node refuses before routing (headers over 16 KiB: 431, malformed HTTP: 400) are problem+json too.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    /** Every problem code with its one status and what it means (src/domain/error-codes.ts). */
    'x-error-codes': ERROR_CODES,
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Claims: sub, role (a policy role), partnerId (partner roles) or tenantId (customers).',
        },
      },
      schemas,
      responses: problemResponses,
    },
  };
}

/** The route that serves the document (itself part of it). */
export function openApiRoute(document: () => Json): RouteSpec {
  return {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This OpenAPI 3.1 document',
    tag: 'operations',
    auth: false,
    responses: { 200: { description: 'The document', content: { 'application/json': { type: 'object' } } } },
    problems: [],
    handlers: [
      (_req, res) => {
        res.json(document());
      },
    ],
  };
}
