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
