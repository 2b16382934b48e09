/**
 * Object-level access: which claims a caller may see, by the kind of its role in the
 * policy. A claim the caller may not see is answered exactly like a missing one.
 */
import type { Principal } from '../auth/authenticator';
import type { ClaimRecord } from '../claims/claim-record';
import type { ClaimFilter } from '../claims/claim-store';
import { NotAllowedError, NotFoundError } from '../domain/errors';
import { mayAccessClaim, ownersOf } from '../domain/access';
import { sameTenant } from '../domain/tenant-id';
import type { Policy, RoleKind } from '../rules/policy-types';

export interface Access {
  kindOf(principal: Principal): RoleKind | undefined;
  canSee(principal: Principal, claim: ClaimRecord): boolean;
  /** Narrows a list filter to what the caller may see; undefined when it can see none of it. */
  scope(principal: Principal, filter: ClaimFilter): ClaimFilter | undefined;
  /** Refuses callers whose role is not of one of `kinds`. */
  requireKind(principal: Principal, kinds: readonly RoleKind[], what: string): void;
}

/** The 404 for a missing claim, and for one the caller may not see (same words: nothing leaks). */
const claimNotFound = (id: string) => new NotFoundError('claimNotFound', `No claim ${id}.`);

/** `policy` gives the policy in effect now: roles may change when a new version is loaded. */
export function createAccess(policyOf: () => Policy): Access {
  const kindOf = (principal: Principal) => {
    const { roles } = policyOf();
    return Object.hasOwn(roles, principal.role) ? roles[principal.role]!.kind : undefined;
  };

  return {
    kindOf,
    canSee(principal, claim) {
      return mayAccessClaim(kindOf(principal), principal, ownersOf(claim.snapshot.context.fields));
    },
    scope(principal, filter) {
      switch (kindOf(principal)) {
        case 'partner':
          if (principal.partnerId === undefined) return undefined;
          if (filter.partnerId !== undefined && filter.partnerId !== principal.partnerId) return undefined;
          return { ...filter, partnerId: principal.partnerId };
        case 'customer':
          if (principal.tenantId === undefined) return undefined;
          if (filter.tenantId !== undefined && !sameTenant(filter.tenantId, principal.tenantId)) return undefined;
          return { ...filter, tenantId: principal.tenantId };
        case 'reviewer':
        case 'internal':
          return filter;
        default:
          return undefined;
      }
    },
    requireKind(principal, kinds, what) {
      const kind = kindOf(principal);
      if (kind === undefined || !kinds.includes(kind)) {
        const roles = Object.entries(policyOf().roles)
          .filter(([, role]) => kinds.includes(role.kind))
          .map(([name]) => name);
        throw new NotAllowedError('forbiddenRole', `The ${principal.role} role may not ${what}; allowed: ${roles.join(', ')}.`);
      }
    },
  };
}

/** Loads a claim the caller may see; a missing or hidden one is the same 404. */
export async function loadVisibleClaim(
  store: { getClaim(id: string): Promise<ClaimRecord | undefined> },
  access: Access,
  principal: Principal,
  id: string,
): Promise<ClaimRecord> {
  const claim = await store.getClaim(id);
  if (!claim || !access.canSee(principal, claim)) throw claimNotFound(id);
  return claim;
}
