import { describe, expect, it } from 'vitest';
import type { ClaimRecord } from '../../src/claims/claim-record';
import { describeConflicts, isInConflict, newestValidPoe, productCodesOf } from '../../src/claims/conflicts';
import type { LeafState } from '../../src/machines/claim-transitions';
import type { ClaimFields, PoeDocument } from '../../src/domain/claim-types';
import { parsePolicy } from '../../src/rules/load-policy';
import type { ConflictPolicy, Policy } from '../../src/rules/policy-types';
import { claimFields, poeDocument } from '../support/factories';
import { policyYaml } from '../support/policy-factory';

const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';
const OTHER_TENANT = '0b7e9c2a-3d4f-4e5a-8b6c-7d8e9f0a1b2c';
const RULE: ConflictPolicy = {
  activeStatuses: ['submitted', 'underReview', 'partnerActionRequired', 'approved'],
  settle: 'mostRecentValidPoe',
  validPoe: { customerSigned: true },
};
const POLICY: Pick<Policy, 'conflicts'> = { conflicts: RULE };

interface ClaimOptions {
  fields?: Partial<ClaimFields>;
  state?: LeafState;
  poe?: PoeDocument[];
}

/** A claim record with what conflicts read (id, state, status, fields, PoE); the rest of a record is not looked at. */
function claim(id: string, { fields = {}, state = 'submitted', poe = [] }: ClaimOptions = {}): ClaimRecord {
  const [status, substatus] = state.split('.');
  return {
    id,
    state,
    status,
    substatus: substatus ?? null,
    snapshot: { context: { id, fields: claimFields(fields), poe } },
  } as unknown as ClaimRecord;
}

const other = (id: string, options: ClaimOptions = {}) =>
  claim(id, { ...options, fields: { partnerId: '4599999', mpnId: '4599999', ...options.fields } });
const signedOn = (date: string | undefined, customerSigned = true) => poeDocument({ signedOn: date, customerSigned });

describe('productCodesOf', () => {
  it('gives workloads, Business Applications products and their subscriptions (lower-cased), sorted without repeats', () => {
    expect(
      productCodesOf({
        products: [
          { line: 'microsoft365', workload: 'teams' },
          { line: 'businessApplications', product: 'powerBI', subscriptionId: 'SUB-1' },
          { line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-1' },
          { line: 'microsoft365', workload: 'teams' },
        ],
      }),
    ).toEqual(['dynamics365Sales', 'powerBI', 'subscription:sub-1', 'teams']);
    expect(productCodesOf({})).toEqual([]);
  });
});

describe('newestValidPoe', () => {
  it('is the newest signing date among customer-signed, dated documents', () => {
    expect(newestValidPoe([signedOn('2026-01-10'), signedOn('2026-02-20'), signedOn('2026-03-01', false), signedOn(undefined)])).toBe('2026-02-20');
    expect(newestValidPoe([signedOn(undefined), signedOn('2026-03-01', false)])).toBeNull();
  });

  it('counts unsigned documents when the policy does not require a customer signature, never undated ones', () => {
    expect(newestValidPoe([signedOn('2026-03-01', false), signedOn(undefined)], { customerSigned: false })).toBe('2026-03-01');
  });
});

describe('describeConflicts', () => {
  it('the claim with the most recent valid PoE is the one to keep, and both sides name it', () => {
    const ours = claim('c-ours', { poe: [signedOn('2026-02-20')] });
    const theirs = other('c-theirs', { poe: [signedOn('2026-01-15'), signedOn('2026-03-01', false)] });
    const fromOurs = describeConflicts(ours, [theirs], POLICY);
    expect(fromOurs).toEqual({
      conflicts: [{ claimId: 'c-theirs', partnerId: '4599999', status: 'submitted', products: ['teams'], newestValidPoe: '2026-01-15' }],
      settlement: { method: 'mostRecentValidPoe', keep: 'c-ours', explanation: expect.stringContaining('2026-02-20') },
    });
    expect(describeConflicts(theirs, [ours], POLICY)?.settlement.keep).toBe('c-ours');
    expect(describeConflicts(theirs, [ours], POLICY)?.conflicts[0]).toMatchObject({ claimId: 'c-ours', partnerId: '4512345', newestValidPoe: '2026-02-20' });
  });

  it('a tie on the most recent date keeps no claim: the reviewer decides', () => {
    const ours = claim('c-ours', { poe: [signedOn('2026-02-20')] });
    const theirs = other('c-theirs', { poe: [signedOn('2026-02-20')] });
    const settlement = describeConflicts(ours, [theirs], POLICY)?.settlement;
    expect(settlement).toMatchObject({ method: 'mostRecentValidPoe', keep: null });
    expect(settlement?.explanation).toMatch(/tie/);
  });

  it('when no claim has a valid PoE (unsigned or undated), none is kept', () => {
    const ours = claim('c-ours', { poe: [signedOn('2026-02-20', false)] });
    const theirs = other('c-theirs', { poe: [signedOn(undefined)] });
    const report = describeConflicts(ours, [theirs], POLICY);
    expect(report?.conflicts).toHaveLength(1);
    expect(report?.settlement).toMatchObject({ keep: null, explanation: expect.stringMatching(/No claim .* has a valid PoE/) });
  });

  it('a claim with a valid PoE is kept over one without', () => {
    const ours = claim('c-ours');
    const theirs = other('c-theirs', { poe: [signedOn('2025-06-01')] });
    expect(describeConflicts(ours, [theirs], POLICY)?.settlement.keep).toBe('c-theirs');
  });

  it('claims on different tenants do not conflict', () => {
    const theirs = other('c-theirs', { fields: { customer: { tenantId: OTHER_TENANT, domain: 'fabrikam.com', name: 'Fabrikam' } } });
    expect(describeConflicts(claim('c-ours'), [theirs], POLICY)).toBeNull();
  });

  it('tenant IDs are compared without case', () => {
    const theirs = other('c-theirs', { fields: { customer: { tenantId: TENANT.toUpperCase(), domain: 'contoso.com', name: 'Contoso' } } });
    expect(describeConflicts(claim('c-ours'), [theirs], POLICY)?.conflicts).toHaveLength(1);
  });

  it('claims without a common product do not conflict', () => {
    const theirs = other('c-theirs', { fields: { products: [{ line: 'microsoft365', workload: 'exchange' }] } });
    expect(describeConflicts(claim('c-ours'), [theirs], POLICY)).toBeNull();
  });

  it("the same partner's claims do not conflict", () => {
    expect(describeConflicts(claim('c-ours'), [claim('c-ours-too')], POLICY)).toBeNull();
  });

  it('a claim never conflicts with itself', () => {
    const ours = claim('c-ours');
    expect(describeConflicts(ours, [{ ...ours, snapshot: other('c-ours').snapshot }], POLICY)).toBeNull();
  });

  it('Business Applications claims conflict on a common product, or on a common subscription with other products', () => {
    const ours = claim('c-ours', { fields: { products: [{ line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'SUB-1' }] } });
    const sameProduct = other('c-product', { fields: { products: [{ line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-2' }] } });
    const sameSubscription = other('c-subscription', { fields: { products: [{ line: 'businessApplications', product: 'powerApps', subscriptionId: 'sub-1' }] } });
    const neither = other('c-neither', { fields: { products: [{ line: 'businessApplications', product: 'powerApps', subscriptionId: 'sub-3' }] } });
    const report = describeConflicts(ours, [sameProduct, sameSubscription, neither], POLICY);
    expect(report?.conflicts.map((c) => [c.claimId, c.products])).toEqual([
      ['c-product', ['dynamics365Sales']],
      ['c-subscription', ['subscription:sub-1']],
    ]);
  });

  it('only claims in an active state take part: the claim itself and the other (approved covers its substatuses)', () => {
    const theirs = other('c-theirs');
    expect(describeConflicts(claim('c-ours', { state: 'editing' }), [theirs], POLICY)).toBeNull();
    expect(describeConflicts(claim('c-ours'), [other('c-theirs', { state: 'rejected' })], POLICY)).toBeNull();
    expect(describeConflicts(claim('c-ours'), [other('c-theirs', { state: 'editing' })], POLICY)).toBeNull();
    expect(describeConflicts(claim('c-ours', { state: 'approved.sentForAssessment' }), [other('c-theirs', { state: 'approved.consentPending' })], POLICY)?.conflicts).toEqual([
      expect.objectContaining({ claimId: 'c-theirs', status: 'approved' }),
    ]);
    const onlyUnderReview = { conflicts: { ...RULE, activeStatuses: ['underReview' as const] } };
    expect(describeConflicts(claim('c-ours', { state: 'underReview' }), [theirs], onlyUnderReview)).toBeNull();
  });

  it('a policy without a conflicts section flags none', () => {
    expect(describeConflicts(claim('c-ours'), [other('c-theirs')], {})).toBeNull();
  });

  it('the settlement weighs every claim in the conflict; a candidate listed twice counts once', () => {
    const ours = claim('c-ours', { poe: [signedOn('2026-02-01')] });
    const a = other('c-a', { poe: [signedOn('2026-02-10')] });
    const b = other('c-b', { fields: { partnerId: '4577777' }, poe: [signedOn('2026-02-05')] });
    const report = describeConflicts(ours, [a, b, a], POLICY);
    expect(report?.conflicts.map((c) => c.claimId)).toEqual(['c-a', 'c-b']);
    expect(report?.settlement.keep).toBe('c-a');
  });

  it('isInConflict holds for an active claim that overlaps one of the others', () => {
    expect(isInConflict(claim('c-ours'), [claim('c-ours'), other('c-theirs')], RULE.activeStatuses)).toBe(true);
    expect(isInConflict(claim('c-ours', { state: 'rejected' }), [other('c-theirs')], RULE.activeStatuses)).toBe(false);
    expect(isInConflict(claim('c-ours'), [claim('c-ours')], RULE.activeStatuses)).toBe(false);
  });
});

describe('the conflicts section of a policy', () => {
  const load = (overrides: Record<string, unknown>) => parsePolicy(policyYaml(overrides), 'policies/test.yaml');

  it('the bundled policy settles by the most recent valid PoE among submitted, underReview, partnerActionRequired and approved claims', () => {
    const result = load({});
    expect(result.ok && result.policy.conflicts).toMatchObject(RULE);
  });

  it('activeStatuses and validPoe default when left out', () => {
    const result = load({ conflicts: { activeStatuses: undefined, validPoe: undefined, description: undefined } });
    expect(result.ok && result.policy.conflicts).toEqual(RULE);
  });

  it('is optional: without it the policy flags no conflicts', () => {
    const result = load({ conflicts: undefined });
    expect(result.ok).toBe(true);
    expect(result.ok && result.policy.conflicts).toBeUndefined();
  });

  it('refuses a settle method the service does not know, an unknown state, and a missing settle', () => {
    const codes = (overrides: Record<string, unknown>) => {
      const result = load(overrides);
      return result.ok ? [] : result.errors.map((e) => [e.code, e.path]);
    };
    expect(codes({ conflicts: { settle: 'oldestClaim' } })).toEqual([['schema', '$.conflicts.settle']]);
    expect(codes({ conflicts: { activeStatuses: ['submitted', 'reviewing'] } })).toEqual([['unknownState', '$.conflicts.activeStatuses[1]']]);
    expect(codes({ conflicts: { settle: undefined } })).toEqual([['missingProperty', '$.conflicts']]);
  });
});
