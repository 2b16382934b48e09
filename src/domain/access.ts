/**
 * Who may see and act on a claim: the one answer the machine's ownership guard and the
 * API's object-level access share. Partners own their partner ID's claims, customers
 * their tenant's (compared as tenant IDs are: see ./tenant-id); reviewers, program
 * staff and the service itself reach every claim.
 */
import { sameTenant } from './tenant-id';

/** The kind of a caller: a policy role's kind, or the service itself. */
export type AccessKind = 'partner' | 'reviewer' | 'customer' | 'internal' | 'system';

/** What identifies a caller towards a claim. */
export interface ClaimCaller {
  partnerId?: string | undefined;
  tenantId?: string | undefined;
}

/** Whose a claim is: its partner ID and its customer's tenant. */
export interface ClaimOwners {
  partnerId?: unknown;
  tenantId?: string | null | undefined;
}

/** The owners of a claim, from its fields. */
export function ownersOf(fields: { partnerId?: string; customer?: { tenantId?: string } | undefined }): ClaimOwners {
  return { partnerId: fields.partnerId, tenantId: fields.customer?.tenantId };
}

/** Whether a caller of kind `kind` (undefined: a role the policy does not define) may see and act on a claim of `owners`. */
export function mayAccessClaim(kind: AccessKind | undefined, caller: ClaimCaller, owners: ClaimOwners): boolean {
  switch (kind) {
    case 'partner':
      return caller.partnerId !== undefined && caller.partnerId === owners.partnerId;
    case 'customer':
      return sameTenant(caller.tenantId, owners.tenantId);
    case 'reviewer':
    case 'internal':
    case 'system':
      return true;
    default:
      return false;
  }
}
