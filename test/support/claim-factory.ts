/** Test-data factories: valid claim fields and PoE documents, with overrides. */
import type { ClaimFields, PoeDocument } from '../../src/domain/claim-types';

/** Valid claim fields (Contoso, Teams, pre-sales); overrides replace whole top-level fields. */
export function claimFields(overrides: Partial<ClaimFields> = {}): ClaimFields {
  return {
    partnerId: '4512345',
    mpnId: '4512345',
    customer: { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01', domain: 'contoso.com', name: 'Contoso' },
    activity: 'preSales',
    products: [{ line: 'microsoft365', workload: 'teams' }],
    customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
    partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
    ...overrides,
  };
}

/** A signed, dated statement of work covering Teams; overrides replace whole fields. */
export function poeDocument(overrides: Partial<PoeDocument> = {}): PoeDocument {
  return {
    id: 'poe-1',
    fileName: 'sow.pdf',
    customerSigned: true,
    signedOn: '2026-02-20',
    products: ['teams'],
    describesWork: true,
    uploadedAt: '2026-03-02T09:05:00.000Z',
    uploadedBy: 'incentivesAdmin',
    ...overrides,
  };
}
