/**
 * RFC 9457 problem details: every error the API answers, in one shape. Every code's
 * status comes from the catalog (domain/error-codes.ts), one status per code; only 5xx
 * are logged, and no response carries a stack.
 */
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AuthUnavailableError } from '../auth/authenticator';
import { isDatabaseUnavailable } from '../db/database-unavailable';
import { DomainError } from '../domain/errors';
import { statusOf, type ErrorCode } from '../domain/error-codes';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One located problem with the input: a JSONPath and a sentence. */
export interface ProblemIssue {
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance: string;
  errors?: ProblemIssue[];
  [extension: string]: unknown;
}

/** An error that exists only at the HTTP edge (body too large, wrong media type, idempotency key reuse); its status is its code's. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  /**
   * Seconds after which a retry may succeed: the answer carries `Retry-After`, and a 503
   * with it is back-pressure the service chose (uploads, workers busy), not a fault to log.
   */
  readonly retryAfterSec: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
    options: { retryAfterSec?: number } = {},
  ) {
    super(message);
    this.status = statusOf(code);
    this.retryAfterSec = options.retryAfterSec;
  }
}

/** Seconds a caller should wait before retrying, when the error says. */
const retryAfterOf = (error: unknown): number | undefined =>
  error instanceof HttpError || error instanceof AuthUnavailableError
    ? error.retryAfterSec
    : isDatabaseUnavailable(error)
      ? DATABASE_RETRY_AFTER_SEC
      : undefined;

/** Retry-After of a request the database could not serve (a restart takes a few seconds). */
const DATABASE_RETRY_AFTER_SEC = 2;

/** Back-pressure the service answered on purpose: a 5xx that is no fault (an unreachable key set still is one). */
const isBackPressure = (error: unknown): boolean => error instanceof HttpError && error.retryAfterSec !== undefined;

/** The problem type URI of a code. */
export const problemType = (code: ErrorCode) => `urn:problem-type:cpor:${code}`;

const titleOf = (status: number) => STATUS_CODES[status] ?? 'Error';

/** body-parser's errors carry a `type`; these are the caller's fault. */
interface ParserError {
  type: string;
  status?: number;
  expose?: boolean;
  limit?: number;
  message: string;
}

const isParserError = (error: unknown): error is ParserError =>
  error instanceof Error && typeof (error as { type?: unknown }).type === 'string' && 'expose' in error;

interface Mapped {
  code: ErrorCode;
  detail: string;
  errors?: ProblemIssue[];
  extensions?: Record<string, unknown>;
}

function mapError(error: unknown): Mapped {
  if (error instanceof DomainError) {
    const { errors, ...details } = (error.details ?? {}) as { errors?: ProblemIssue[] } & Record<string, unknown>;
    const issues = errors ?? (error.path ? [{ path: error.path, message: error.message }] : undefined);
    return {
      code: error.code,
      detail: error.message,
      ...(issues ? { errors: issues } : {}),
      ...(Object.keys(details).length ? { extensions: { details } } : {}),
    };
  }
  if (error instanceof HttpError) {
    const { errors, ...extensions } = error.extensions as { errors?: ProblemIssue[] } & Record<string, unknown>;
    return { code: error.code, detail: error.message, ...(errors ? { errors } : {}), extensions };
  }
  if (error instanceof AuthUnavailableError) {
    return { code: 'authUnavailable', detail: error.message };
  }
  if (isDatabaseUnavailable(error)) {
    return { code: 'databaseUnavailable', detail: 'The database cannot be reached now; try again shortly.' };
  }
  if (error instanceof URIError && (error as { status?: unknown }).status === 400) {
    // The router could not decode a path parameter (`/v1/claims/%ZZ`): the caller's URL is malformed.
    return {
      code: 'malformedPath',
      detail: 'The request path holds a malformed percent-encoding; encode reserved characters as %XX with two hex digits.',
      errors: [{ path: '$.path', message: 'has a malformed percent-encoding' }],
    };
  }
  if (isParserError(error)) {
    switch (error.type) {
      case 'entity.parse.failed':
        return {
          code: 'malformedJson',
          detail: `The request body is not valid JSON: ${error.message}`,
          errors: [{ path: '$', message: 'is not valid JSON' }],
        };
      case 'entity.too.large':
        return {
          code: 'bodyTooLarge',
          detail: `The request body is larger than the ${error.limit ?? 'largest'} bytes this endpoint accepts.`,
        };
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return { code: 'unsupportedEncoding', detail: error.message };
      default:
        // The JSON parser's other caller errors (request.aborted, request.size.invalid) are all 400.
        if (error.expose && error.status && error.status < 500) {
          return { code: 'badRequest', detail: error.message };
        }
    }
  }
  return { code: 'internalError', detail: 'The service failed to handle this request; it has been logged.' };
}

/** The problem document for an error, and its status. */
export function problemFor(error: unknown, instance: string): Problem {
  const mapped = mapError(error);
  const status = statusOf(mapped.code);
  return {
    type: problemType(mapped.code),
    title: titleOf(status),
    status,
    detail: mapped.detail,
    code: mapped.code,
    instance,
    ...(mapped.errors ? { errors: mapped.errors } : {}),
    ...(mapped.extensions ?? {}),
  };
}

/** The request's path, as the problem's `instance`. */
const instanceOf = (req: Request) => req.originalUrl.split('?')[0] ?? req.originalUrl;

/** Writes a problem response. */
function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status);
  res.type(PROBLEM_CONTENT_TYPE);
  res.send(JSON.stringify(problem));
}

/** The last middleware: maps every error to problem+json, logs only faults. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    const problem = problemFor(error, instanceOf(req));
    if (problem.status >= 500 && !isBackPressure(error)) logger.error({ err: error, method: req.method, url: req.originalUrl }, 'request failed');
    if (res.headersSent) {
      // The response is already on its way (a stream broke): all that is left is to end it.
      next(error);
      return;
    }
    if (problem.status === 401) {
      res.set(
        'WWW-Authenticate',
        problem.code === 'missingToken' ? 'Bearer realm="cpor"' : 'Bearer realm="cpor", error="invalid_token"',
      );
    }
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    sendProblem(res, problem);
  };
}

/** A route as far as method matching is concerned: `get` and an Express path (`/v1/claims/:id`). */
export interface KnownRoute {
  method: string;
  path: string;
}

/** Express's matching of our paths: `:name` is one segment, case-insensitive, an optional trailing slash. */
const pathPattern = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '[^/]+')}/?$`, 'i');

/**
 * Requests no route answered: a 405 problem with `Allow` when the path exists with other
 * methods, else a 404 problem, the same for every method.
 */
export function routeNotFound(routes: readonly KnownRoute[]): RequestHandler {
  const patterns = routes.map((route) => ({ method: route.method.toUpperCase(), pattern: pathPattern(route.path) }));
  return (req, res) => {
    const allowed = new Set(patterns.filter(({ pattern }) => pattern.test(req.path)).map(({ method }) => method));
    if (allowed.size === 0) {
      throw new HttpError('routeNotFound', `There is no ${req.method} ${instanceOf(req)} in this API; see /openapi.json.`);
    }
    // Express answers HEAD wherever it answers GET.
    if (allowed.has('GET')) allowed.add('HEAD');
    const allow = [...allowed].join(', ');
    res.set('Allow', allow);
    throw new HttpError('methodNotAllowed', `${instanceOf(req)} does not answer ${req.method}; it answers ${allow}.`, {
      allow: [...allowed],
    });
  };
}
