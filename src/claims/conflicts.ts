/**
 * Conflicts between claims (pure): one partner of record per customer tenant and
 * product. Two claims overlap when they are on the same customer tenant, belong to
 * different partners, share a product code and both are in one of the policy's
 * active states. The service only flags a conflict; the reviewer settles it.
 */
import { sameTenant } from '../domain/tenant-id';
import { isInAnyState, type ClaimFields, type PoeDocument, type StateId } from '../domain/claim-types';
import type { ConflictPolicy, ConflictSettlement, Policy } from '../rules/policy-types';
import type { ClaimRecord } from './claim-record';

/** One claim a claim conflicts with, as a reviewer sees it. */
export interface ClaimConflict {
  claimId: string;
  partnerId: string;
  status: string;
  /** The product codes both claims hold. */
  products: string[];
  /** Signing date (YYYY-MM-DD) of the other claim's newest valid PoE; null when it has none. */
  newestValidPoe: string | null;
}

export interface ConflictSettlementAdvice {
  method: ConflictSettlement;
  /** The claim to keep; null on a tie, or when no claim has a valid PoE (the reviewer decides). */
  keep: string | null;
  explanation: string;
}

export interface ConflictReport {
  conflicts: ClaimConflict[];
  settlement: ConflictSettlementAdvice;
}

/** Prefix of the product code a Business Applications subscription ID gives. */
const SUBSCRIPTION_CODE_PREFIX = 'subscription:';

/**
 * The product codes a claim holds: Microsoft 365 workloads (`teams`), Business
 * Applications products (`dynamics365Sales`) and their subscription IDs
 * (`subscription:<id>`, lower-cased), so that two claims on one subscription overlap
 * even when they name different products. Sorted, without repeats.
 */
export function productCodesOf(fields: Partial<Pick<ClaimFields, 'products'>>): string[] {
  const codes = new Set<string>();
  for (const product of fields.products ?? []) {
    if (product.line === 'microsoft365') codes.add(product.workload);
    else {
      codes.add(product.product);
      codes.add(`${SUBSCRIPTION_CODE_PREFIX}${product.subscriptionId.toLowerCase()}`);
    }
  }
  return [...codes].sort();
}


/** The common product codes of two claims that overlap under `activeStatuses`; empty when they do not. */
export function overlapOf(claim: ClaimRecord, other: ClaimRecord, activeStatuses: readonly StateId[]): string[] {
  if (claim.id === other.id || !isInAnyState(other.state, activeStatuses)) return [];
  const mine = claim.snapshot.context.fields;
  const theirs = other.snapshot.context.fields;
  if (!sameTenant(mine.customer?.tenantId, theirs.customer?.tenantId)) return [];
  if (!mine.partnerId || !theirs.partnerId || mine.partnerId === theirs.partnerId) return [];
  const codes = new Set(productCodesOf(mine));
  return productCodesOf(theirs).filter((code) => codes.has(code));
}

/** Whether a claim is in a conflict among `claims`: it is active and overlaps one of them (stores that filter in memory). */
export function isInConflict(claim: ClaimRecord, claims: Iterable<ClaimRecord>, activeStatuses: readonly StateId[]): boolean {
  if (!isInAnyState(claim.state, activeStatuses)) return false;
  for (const other of claims) if (overlapOf(claim, other, activeStatuses).length > 0) return true;
  return false;
}

/** Signing date of a claim's newest valid PoE (dated, and customer-signed unless the policy says otherwise); null if none. */
export function newestValidPoe(poe: readonly PoeDocument[], validPoe: ConflictPolicy['validPoe'] = { customerSigned: true }): string | null {
  let newest: string | null = null;
  for (const doc of poe) {
    if (!doc.signedOn || (validPoe.customerSigned && !doc.customerSigned)) continue;
    if (newest === null || doc.signedOn > newest) newest = doc.signedOn;
  }
  return newest;
}

/**
 * The conflicts of `claim` among `candidates` (the store's overlaps; each is checked
 * again here) and how the policy settles them; null when the policy has no
 * `conflicts` section, the claim is not in an active state, or nothing overlaps.
 * The settlement weighs the claim and every claim it conflicts with, so both sides
 * of a two-claim conflict name the same claim to keep.
 */
export function describeConflicts(
  claim: ClaimRecord,
  candidates: readonly ClaimRecord[],
  policy: Pick<Policy, 'conflicts'>,
): ConflictReport | null {
  const rule = policy.conflicts;
  if (!rule || !isInAnyState(claim.state, rule.activeStatuses)) return null;
  const validPoe = rule.validPoe ?? { customerSigned: true };
  const conflicts: ClaimConflict[] = [];
  const seen = new Set<string>();
  for (const other of candidates) {
    if (seen.has(other.id)) continue;
    const products = overlapOf(claim, other, rule.activeStatuses);
    if (products.length === 0) continue;
    seen.add(other.id);
    conflicts.push({
      claimId: other.id,
      partnerId: other.snapshot.context.fields.partnerId,
      status: other.status,
      products,
      newestValidPoe: newestValidPoe(other.snapshot.context.poe, validPoe),
    });
  }
  if (conflicts.length === 0) return null;
  const own = newestValidPoe(claim.snapshot.context.poe, validPoe);
  return { conflicts, settlement: settleByMostRecentValidPoe(claim.id, own, conflicts, validPoe.customerSigned) };
}

function settleByMostRecentValidPoe(
  claimId: string,
  own: string | null,
  conflicts: readonly ClaimConflict[],
  customerSigned: boolean,
): ConflictSettlementAdvice {
  const contenders = [{ claimId, newest: own }, ...conflicts.map((c) => ({ claimId: c.claimId, newest: c.newestValidPoe }))];
  const valid = customerSigned ? 'customer-signed and dated' : 'dated';
  const dated = contenders.filter((c): c is { claimId: string; newest: string } => c.newest !== null);
  const listing = contenders.map((c) => `claim ${c.claimId}: ${c.newest ?? 'none'}`).join('; ');
  const method = 'mostRecentValidPoe' as const;
  if (dated.length === 0) {
    return {
      method,
      keep: null,
      explanation: `No claim in this conflict has a valid PoE (${valid}), so none is the one to keep: the reviewer decides.`,
    };
  }
  const newest = dated.reduce((best, c) => (c.newest > best ? c.newest : best), dated[0]!.newest);
  const leaders = dated.filter((c) => c.newest === newest);
  if (leaders.length > 1) {
    return {
      method,
      keep: null,
      explanation: `Claims ${leaders.map((c) => c.claimId).join(' and ')} have valid PoEs (${valid}) signed on the same most recent date, ${newest}: a tie, the reviewer decides. Newest valid PoE per claim: ${listing}.`,
    };
  }
  return {
    method,
    keep: leaders[0]!.claimId,
    explanation: `Keep claim ${leaders[0]!.claimId}: its valid PoE (${valid}) signed on ${newest} is the most recent. Newest valid PoE per claim: ${listing}.`,
  };
}
