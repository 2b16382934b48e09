/**
 * Domain errors: they carry a machine-readable code from the catalog (error-codes.ts)
 * and a sentence a person can act on, and know nothing of HTTP. Each code has one
 * status in the catalog; a class accepts only the codes of its status, so a kind and
 * its code cannot disagree.
 */
import type { CodeWithStatus, ErrorCode } from './error-codes';

export type ErrorKind =
  | 'input'
  | 'notAllowed'
  | 'notFound'
  | 'conflict'
  | 'preconditionFailed'
  | 'preconditionRequired'
  | 'unauthenticated';

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    readonly code: ErrorCode,
    message: string,
    /** JSONPath of the offending input, where there is one. */
    readonly path?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Bad input: a payload that does not match its schema, an unknown code. */
export class InputError extends DomainError {
  override readonly name = 'InputError';
  constructor(code: CodeWithStatus<400>, message: string, path?: string, details?: Record<string, unknown>) {
    super('input', code, message, path, details);
  }
}

/** The actor may not do this (role, ownership, reason not theirs). */
export class NotAllowedError extends DomainError {
  override readonly name = 'NotAllowedError';
  constructor(code: CodeWithStatus<403>, message: string, details?: Record<string, unknown>, path?: string) {
    super('notAllowed', code, message, path, details);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(code: CodeWithStatus<404>, message: string) {
    super('notFound', code, message);
  }
}

/** The claim is not in a state that allows this (wrong status, closed window, unmet requirement, a concurrent write). */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  constructor(code: CodeWithStatus<409>, message: string, details?: Record<string, unknown>, path?: string) {
    super('conflict', code, message, path, details);
  }
}

/** The caller is not authenticated: no bearer token, or one that does not verify (invalidToken, expiredToken). */
export class UnauthenticatedError extends DomainError {
  override readonly name = 'UnauthenticatedError';
  constructor(code: CodeWithStatus<401>, message: string) {
    super('unauthenticated', code, message);
  }
}
