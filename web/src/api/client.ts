/**
 * The dashboard's only way to the service: openapi-fetch typed by schema.d.ts (generated from
 * /openapi.json), with the signed-in user's bearer token and language on every request. No
 * route of its own: every answer passes the API's access checks for this user.
 */
import createClient from 'openapi-fetch';
import type { Problem } from './contract';
import type { paths } from './schema';

let token: string | undefined;
let language = 'en';
let onUnauthorized: () => void = () => {};

export function setCredentials(next: string | undefined, onExpired: () => void): void {
  token = next;
  onUnauthorized = onExpired;
}

export function setLanguage(next: string): void {
  language = next;
}

export function authHeaders(): Record<string, string> {
  return { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Accept-Language': language };
}

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authHeaders())) request.headers.set(name, value);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && token) onUnauthorized();
    return response;
  },
});

/** An API refusal as the user sees it: its sentence and the fields it names. */
export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
  /** Messages by JSONPath ($.customer.tenantId …). */
  fieldErrors(): Map<string, string> {
    return new Map((this.problem.errors ?? []).map((e) => [e.path, e.message]));
  }
}

/** A problem+json body, or one made from a status when the body is something else. */
export function problemOf(status: number, body: unknown): ApiProblem {
  if (body && typeof body === 'object' && 'detail' in body) return new ApiProblem(body as Problem);
  return new ApiProblem({ type: 'about:blank', title: `HTTP ${status}`, status, detail: `The service answered ${status}.`, instance: '', code: 'internalError' });
}

/** Unwraps an openapi-fetch result: its data, or throws the problem. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) throw problemOf(result.response.status, result.error);
  return result.data;
}

/**
 * A call to a route this build's schema.d.ts does not list yet (the issue-10 additions: auth
 * config, development tokens, the policy view, demo clock). Same headers as the typed client.
 */
export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    if (res.status === 401 && token) onUnauthorized();
    throw problemOf(res.status, parsed);
  }
  return parsed as T;
}

/** If-Match for a claim at `version` (the API's ETag is the version, quoted). */
export const ifMatch = (version: number) => `"${version}"`;
