/**
 * Many stored claims fast, for list-depth tests and benchmarks: rows of `claims` written
 * straight through knex (no history or projections), each a copy of one real claim record
 * with its own id, creation instant, status, partner and tenant. Lists read only `claims`,
 * so these are what a list sees; nothing else should read them.
 */
import type { Knex } from 'knex';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord } from '../../src/claims/claim-record';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import type { Status } from '../../src/domain/claim-types';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { claimFields, partnerOf } from './factories';

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
  }
  // Fresh statistics, as a database that grew to this size has: the planner judges by them.
  await knex.raw(isPostgres(knex) ? 'ANALYZE claims' : 'ANALYZE');
}
