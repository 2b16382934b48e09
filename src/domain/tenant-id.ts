/**
 * Customer tenant identity. Tenant IDs are Entra GUIDs, which do not depend on case:
 * `6F1C…` and `6f1c…` are one tenant. Every comparison of tenants (access, list
 * filters, conflicts, reports, guards) goes through these two functions, and stores
 * index the key, never the ID as typed.
 */

/** The form a tenant ID is compared and stored for queries in: lower case. */
export const tenantKey = (tenantId: string): string => tenantId.toLowerCase();

/** Whether two tenant IDs name the same tenant; false when either is missing. */
export const sameTenant = (a: string | null | undefined, b: string | null | undefined): boolean =>
  typeof a === 'string' && typeof b === 'string' && a !== '' && tenantKey(a) === tenantKey(b);
