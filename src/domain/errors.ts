/**
 * Domain errors: they carry a machine-readable code and a sentence a person can act
 * on, and know nothing of HTTP. The HTTP layer maps each kind to a status.
 */
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
    readonly code: string,
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
  constructor(code: string, message: string, path?: string, details?: Record<string, unknown>) {
    super('input', code, message, path, details);
  }
}

/** The actor may not do this (role, ownership, reason not theirs). */
export class NotAllowedError extends DomainError {
  override readonly name = 'NotAllowedError';
  constructor(code: string, message: string, details?: Record<string, unknown>, path?: string) {
    super('notAllowed', code, message, path, details);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(code: string, message: string) {
    super('notFound', code, message);
  }
}

/** The claim is not in a state that allows this (wrong status, closed window, unmet requirement, stale version). */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  constructor(code: string, message: string, details?: Record<string, unknown>, path?: string) {
    super('conflict', code, message, path, details);
  }
}

/** The caller is not authenticated: no bearer token, or one that does not verify (invalidToken, expiredToken). */
export class UnauthenticatedError extends DomainError {
  override readonly name = 'UnauthenticatedError';
  constructor(code: string, message: string) {
    super('unauthenticated', code, message);
  }
}
