/**
 * supertest, with every answer checked against the document the service publishes: each
 * response must have a status, content type and body that /openapi.json documents for its
 * operation (the fuzz suite's checker, `createResponseChecker`). A response that drifts from the
 * document fails the request's await with the differences.
 *
 * Requests to paths the document does not describe (a test of routeNotFound, say) are not checked.
 * The document is fetched from the same app once and fetched again when an answer does not match
 * it (a policy loaded since may have changed it).
 */
import request from 'supertest';
import { createResponseChecker, operationsOf, type Json, type Operation } from './openapi-requests';

type Target = Parameters<typeof request>[0];
type Checker = { operations: Array<Operation & { pattern: RegExp }>; check: ReturnType<typeof createResponseChecker> };

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

/** Checkers by document text: apps on the same policy share one (Ajv compiles once). */
const checkers = new Map<string, Checker>();
/** The latest document text of each target. */
const documents = new WeakMap<object, Promise<string>>();
const urlDocuments = new Map<string, Promise<string>>();

function checkerOf(text: string): Checker {
  let checker = checkers.get(text);
  if (!checker) {
    const doc = JSON.parse(text) as Json;
    const operations = operationsOf(doc)
      // Literal paths before templated ones (`/v1/claims/export` before `/v1/claims/{id}`).
      .sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0))
      .map((op) => ({
        ...op,
        pattern: new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
      }));
    checker = { operations, check: createResponseChecker(doc, { documentedOnly: true }) };
    checkers.set(text, checker);
  }
  return checker;
}

function documentOf(target: Target, fresh: boolean): Promise<string> {
  const cache = typeof target === 'string' ? urlDocuments : undefined;
  let text = cache ? cache.get(target as string) : documents.get(target as object);
  if (!text || fresh) {
    text = request(target)
      .get('/openapi.json')
      .then((res) => {
        if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}: the answers cannot be checked`);
        return res.text;
      });
    // A document that could not be fetched (the service was down) is fetched again next time.
    text.catch(() => (cache ? cache.delete(target as string) : documents.delete(target as object)));
    if (cache) cache.set(target as string, text);
    else documents.set(target as object, text);
  }
  return text;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text?: string;
  body?: unknown;
}

/** The differences between an answer and the document; empty when it matches or the path is not described. */
async function issuesOf(target: Target, method: string, url: string, res: Answer, fresh: boolean): Promise<string[]> {
  const { operations, check } = checkerOf(await documentOf(target, fresh));
  const path = new URL(url, 'http://test.invalid').pathname;
  const op = operations.find((o) => o.method === method && o.pattern.test(path));
  if (!op) return [];
  const body = typeof res.text === 'string' ? Buffer.from(res.text, 'utf8') : Buffer.isBuffer(res.body) ? res.body : Buffer.alloc(0);
  return check(op, { status: res.status, headers: res.headers, body }).map((issue) => `${op.operationId}: ${issue}`);
}

/** `request(target)`, whose every answer must match the service's OpenAPI document. */
export function documentedRequest(target: Target): ReturnType<typeof request> {
  const agent = request(target);
  for (const method of METHODS) {
    const send = agent[method].bind(agent) as (url: string) => ReturnType<typeof agent.get>;
    (agent as unknown as Record<string, unknown>)[method] = (url: string) => {
      const test = send(url);
      const then = test.then.bind(test);
      (test as { then: unknown }).then = (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) =>
        then(async (res) => {
          const issues = (await issuesOf(target, method, url, res, false)).length ? await issuesOf(target, method, url, res, true) : [];
          if (issues.length) {
            throw new Error(
              `${method.toUpperCase()} ${url} answered ${res.status}, which /openapi.json does not document:\n  ${issues.join('\n  ')}\n  body: ${String(res.text ?? '').slice(0, 600)}`,
            );
          }
          return res;
        }).then(onFulfilled, onRejected);
      return test;
    };
  }
  return agent;
}
