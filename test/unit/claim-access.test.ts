import { describe, expect, it } from 'vitest';
import { mayAccessClaim, ownersOf } from '../../src/domain/access';

const owners = ownersOf({ partnerId: '4512345', customer: { tenantId: '6F1C0D4E-1F1A-4A53-9B7E-3C1D2B9E8A01' } });

describe('who may see and act on a claim', () => {
  it('a partner reaches only its own partner ID’s claims', () => {
    expect(mayAccessClaim('partner', { partnerId: '4512345' }, owners)).toBe(true);
    expect(mayAccessClaim('partner', { partnerId: '4599999' }, owners)).toBe(false);
    expect(mayAccessClaim('partner', {}, owners)).toBe(false);
  });

  it('a customer reaches its tenant’s claims, whatever the case of the tenant ID', () => {
    expect(mayAccessClaim('customer', { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01' }, owners)).toBe(true);
    expect(mayAccessClaim('customer', { tenantId: '00000000-0000-0000-0000-000000000000' }, owners)).toBe(false);
    expect(mayAccessClaim('customer', {}, ownersOf({ partnerId: '4512345' }))).toBe(false);
  });

  it('reviewers, program staff and the service reach every claim; a role the policy does not define reaches none', () => {
    for (const kind of ['reviewer', 'internal', 'system'] as const) expect(mayAccessClaim(kind, {}, owners)).toBe(true);
    expect(mayAccessClaim(undefined, { partnerId: '4512345' }, owners)).toBe(false);
  });
});
