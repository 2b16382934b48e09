/**
 * The overdue marker (`claim_overdue`, migrations 001 and 010): one row per claim and deadline
 * name the claim is flagged overdue on, holding what a list of overdue claims filters and
 * orders by: the claim's status, tenant key and partner ID, and its created_at (the keyset
 * cursor's order, with the claim ID). The rows are a projection of the claim record, so the
 * store rewrites them in the transaction of every write that changes them: a deadline firing
 * (the scheduler's path), a deadline met, or a status, tenant or partner changing while overdue.
 */
import type { ClaimRecord } from '../claims/claim-record';
import { tenantKey } from '../domain/tenant-id';
import type { SqlRow } from './store-sql';

/** The claim's claim_overdue rows (columns as the claims row has them: src/db/claim-rows.ts `claimRow`). */
export function overdueRows(claim: ClaimRecord): SqlRow[] {
  const fields = claim.snapshot.context.fields;
  const tenantId = fields.customer?.tenantId;
  return [...new Set(claim.overdue)].map((name) => ({
    claim_id: claim.id,
    name,
    created_at: claim.createdAt,
    status: claim.status,
    tenant_id: tenantId ? tenantKey(tenantId) : null,
    partner_id: fields.partnerId ?? null,
  }));
}
