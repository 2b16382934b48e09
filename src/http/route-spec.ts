/**
 * Routes as data: each route names its method, path, request schemas and responses
 * next to its handlers, so the router and the OpenAPI document come from one list.
 */
import type { Express, Request, RequestHandler } from 'express';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface ResponseSpec {
  description: string;
  /** Content type → schema. */
  content?: Record<string, object>;
  /** Response header names (documented as strings). */
  headers?: string[];
}

export interface HeaderParameter {
  name: string;
  required: boolean;
  description: string;
}

export interface RouteSpec {
  method: Method;
  /** Express path (`/v1/claims/:id`). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Whether a bearer token is required. */
  auth: boolean;
  /** JSON Schemas of path parameters by name (default: a string). */
  params?: Record<string, object>;
  /** Schema of the query (an object schema; each property is a parameter). */
  query?: { properties: Record<string, object>; required?: readonly string[] };
  headers?: HeaderParameter[];
  /** Content type → schema of the request body. */
  body?: { required: boolean; content: Record<string, object>; description?: string };
  responses: Record<number, ResponseSpec>;
  /** Problem statuses this route can answer (documented as problem+json). */
  problems: number[];
  handlers: RequestHandler[];
}

/**
 * Every problem status a route can answer: its own list, plus those its shape implies
 * wherever it is mounted (a token: 401, and 503 when the signing keys cannot be fetched;
 * a path parameter: 400 for a malformed percent-encoding; a query or a body: 400; a body:
 * 413 and 415; If-Match: 412, and 428 when required; Idempotency-Key: 400, 409, 422; any: 500, and the server's own
 * answers before routing: 408 for a request that takes too long, 431 for headers over 16 KiB).
 */
export function problemStatusesOf(route: RouteSpec): number[] {
  const statuses = new Set<number>([...route.problems, 408, 431, 500]);
  if (route.auth) statuses.add(401).add(503);
  if (route.path.includes(':') || route.query || route.body) statuses.add(400);
  if (route.body) statuses.add(413).add(415);
  for (const header of route.headers ?? []) {
    if (header.name === 'If-Match') {
      statuses.add(412);
      if (header.required) statuses.add(428);
    }
    if (header.name === 'Idempotency-Key') statuses.add(400).add(409).add(422);
  }
  return [...statuses].sort((a, b) => a - b);
}

/** Registers each route on the app, in order. */
export function mountRoutes(app: Express, routes: readonly RouteSpec[]): void {
  for (const route of routes) app[route.method](route.path, ...route.handlers);
}

/** `/v1/claims/:id` → `/v1/claims/{id}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

/** A path parameter of the matched route. */
export const param = (req: Request, name: string): string => {
  const value = req.params[name];
  if (typeof value !== 'string') throw new Error(`route has no :${name} parameter`);
  return value;
};
