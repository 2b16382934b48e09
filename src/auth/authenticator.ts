/** Who is calling: the bearer token's verified claims, as the domain's actor. */
import type { Actor } from '../domain/claim-types';
import type { RoleKind } from '../rules/policy-types';

/** A verified caller. `id` is the token's `sub`. */
export type Principal = Actor & { id: string };

export interface Authenticator {
  /** Verifies a bearer token; throws a DomainError of kind 'unauthenticated' (code invalidToken / expiredToken) when it is not valid. */
  verify(token: string): Promise<Principal>;
}

/** The policy's roles, by name: what an authenticator needs to know of them. */
export type RoleKinds = Readonly<Record<string, { readonly kind: RoleKind }>>;

/** The authenticator cannot check tokens right now (its signing keys cannot be fetched): nobody's fault but the service's. */
export class AuthUnavailableError extends Error {
  override readonly name = 'AuthUnavailableError';
  constructor(
    message: string,
    /** Seconds after which a retry may succeed. */
    readonly retryAfterSec: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
