/**
 * Many stored claims fast, for list-depth and multi-process tests and benchmarks.
 *
 * `seedClaims`: rows of `claims` (and their search text) written straight through knex (no history or other projections),
 * each a copy of one real claim record with its own id, creation instant, status, partner and
 * tenant. Lists read only `claims`, so these are what a list sees; nothing else should read them.
 *
 * `storeClaimsAtOnce`: whole claims (history, projections, outbox) built through the claim
 * service in March 2026, written in one transaction, so their deadlines and messages all become
 * due for a running service at the same instant.
 */
import type { Knex } from 'knex';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord } from '../../src/claims/claim-record';
import { searchTextOf } from '../../src/claims/claim-search';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import type { Status } from '../../src/domain/claim-types';
import { createKnexClaimStore } from '../../src/db/knex-claim-store';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { claimFields, claimIn, partnerOf, type ClaimStatus } from './factories';

const SEED_STATUSES: readonly Status[] = ['editing', 'submitted', 'underReview', 'rejected'];
export const SEED_PARTNERS = ['4500001', '4500002', '4500003'] as const;
export const SEED_TENANTS = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
  '33333333-3333-4333-8333-333333333333',
] as const;
const START = Date.parse('2026-01-05T17:00:00.000Z');

export const isPostgres = (knex: Knex) => (knex.client as { dialect?: string }).dialect === 'postgresql';

/** The i-th seeded claim: statuses, partners and tenants in turn, one second apart (every 7th shares its instant with the next: ties by id). */
export function seededClaim(template: ClaimRecord, i: number): ClaimRecord {
  const createdAt = new Date(START + Math.floor(i / 7) * 7_000 + (i % 7 === 6 ? 5_000 : (i % 7) * 1_000)).toISOString();
  const partnerId = SEED_PARTNERS[i % SEED_PARTNERS.length]!;
  const tenantId = SEED_TENANTS[Math.floor(i / 3) % SEED_TENANTS.length]!;
  const fields = { ...template.snapshot.context.fields, partnerId, mpnId: partnerId, customer: { ...template.snapshot.context.fields.customer!, tenantId } };
  return {
    ...template,
    id: `seed-${String(i).padStart(7, '0')}`,
    status: SEED_STATUSES[i % SEED_STATUSES.length]!,
    createdAt,
    updatedAt: createdAt,
    snapshot: { ...template.snapshot, context: { ...template.snapshot.context, fields } },
  };
}

/** A created claim record to copy. */
export async function claimTemplate(policy: CompiledPolicy): Promise<ClaimRecord> {
  const service = createClaimService({
    store: createMemoryClaimStore(),
    policy,
    clock: createVirtualClock(new Date(START)),
    ids: createSequentialIds(),
  });
  return (await service.create(partnerOf(), claimFields())).claim;
}

/** Writes `count` seeded claims (ids seed-0000000 …) in chunks; returns them in list order's input order. */
export async function seedClaims(knex: Knex, policy: CompiledPolicy, count: number): Promise<void> {
  const template = await claimTemplate(policy);
  const CHUNK = 500;
  for (let from = 0; from < count; from += CHUNK) {
    const rows = [];
    for (let i = from; i < Math.min(count, from + CHUNK); i++) {
      const claim = seededClaim(template, i);
      const fields = claim.snapshot.context.fields;
      rows.push({
        id: claim.id,
        version: claim.version,
        state: claim.state,
        status: claim.status,
        substatus: null,
        reason: null,
        partner_id: fields.partnerId,
        tenant_id: fields.customer!.tenantId,
        policy_id: claim.policy.id,
        policy_version: claim.policy.version,
        created_at: claim.createdAt,
        updated_at: claim.updatedAt,
        next_due_at: null,
        data: JSON.stringify(claim),
      });
    }
    // SQLite allows at most 32,766 bound values per statement: 500 rows × 14 columns fit.
    await knex.batchInsert('claims', rows, 100);
    // What GET /v1/claims?q= searches (migration 007).
    await knex.batchInsert('claim_search', rows.map((row) => ({ claim_id: row.id, search_text: searchTextOf(JSON.parse(row.data) as ClaimRecord) })), 100);
  }
  // Fresh statistics, as a database that grew to this size has: the planner judges by them.
  await knex.raw(isPostgres(knex) ? 'ANALYZE claims, claim_search' : 'ANALYZE');
}

/**
 * `count` claims brought to `status` in March 2026 (so their deadlines and messages are long
 * due), then written to the database in one transaction, with their history and outbox.
 */
export async function storeClaimsAtOnce(knex: Knex, policy: CompiledPolicy, count: number, status: ClaimStatus): Promise<ClaimRecord[]> {
  const memory = createMemoryClaimStore();
  const service = createClaimService({ store: memory, policy, clock: createVirtualClock(new Date('2026-03-02T17:00:00.000Z')) });
  const claims: ClaimRecord[] = [];
  for (let i = 0; i < count; i++) claims.push(await claimIn(service, status));
  const outbox = await memory.listOutbox({ limit: 10 * count });
  await createKnexClaimStore(knex).transaction(async (tx) => {
    for (const claim of claims) {
      await tx.insertClaim(claim);
      await tx.appendHistory(await memory.listHistory(claim.id));
    }
    await tx.appendOutbox(outbox.map(({ id, claimId, type, at, audience, payload }) => ({ id, claimId, type, at, audience, payload })));
  });
  return claims;
}
