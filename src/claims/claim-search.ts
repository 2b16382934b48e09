/**
 * What `GET /v1/claims?q=` searches: a claim's customer name and domain, claim name, tenant ID,
 * partner ID and claim ID, lower-cased, one per line. The stores keep this text per claim
 * (the databases in `claim_search`, indexed for substring search) and find the claims whose
 * text contains the lower-cased query; a query spans no line break, so it never matches across
 * two fields.
 */
import type { ClaimRecord } from './claim-record';

/** Separates the searched values in the search text (and is never part of a query's match). */
const SEPARATOR = '\n';

/** The claim's search text (see above). */
export function searchTextOf(claim: Pick<ClaimRecord, 'id' | 'snapshot'>): string {
  const fields = claim.snapshot.context.fields;
  return [fields.customer?.name, fields.customer?.domain, fields.name, fields.customer?.tenantId, fields.partnerId, claim.id]
    .filter((value): value is string => typeof value === 'string' && value !== '')
    .map((value) => value.toLowerCase().replaceAll(SEPARATOR, ' '))
    .join(SEPARATOR);
}

/** The query as the search text holds it (lower case), or undefined when it can match nothing (it spans a line break). */
export function searchNeedle(q: string): string | undefined {
  const needle = q.toLowerCase();
  return needle.includes(SEPARATOR) ? undefined : needle;
}
