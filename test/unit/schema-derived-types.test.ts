// The types code reads are derived from the JSON Schemas that validate the same data (json-schema-to-ts):
// these checks fail at type-check time (`npm run typecheck`) when a schema and what code expects drift apart.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ClaimFields, DisputeOutcome, Product } from '../../src/domain/claim-types';
import { validatePayload, type EventPayloads } from '../../src/machines/event-payloads';

describe('types derived from the claim and payload schemas', () => {
  it('a product is a Microsoft 365 workload or a Business Applications product with its subscription', () => {
    expectTypeOf<Product>().toEqualTypeOf<
      | { line: 'microsoft365'; workload: 'exchange' | 'sharePoint' | 'oneDrive' | 'teams' | 'intune' | 'windows' | 'office365Apps' }
      | {
          line: 'businessApplications';
          product:
            | 'dynamics365Sales'
            | 'dynamics365CustomerService'
            | 'dynamics365FieldService'
            | 'dynamics365Finance'
            | 'dynamics365SupplyChain'
            | 'powerApps'
            | 'powerAutomate'
            | 'powerBI';
          subscriptionId: string;
        }
    >();
  });

  it("a claim's fields are the create payload's, with products always present", () => {
    expectTypeOf<ClaimFields['products']>().toEqualTypeOf<Product[]>();
    expectTypeOf<EventPayloads['create']['products']>().toEqualTypeOf<Product[] | undefined>();
    expectTypeOf<Omit<ClaimFields, 'products'>>().toEqualTypeOf<Omit<EventPayloads['create'], 'products'>>();
    expectTypeOf<ClaimFields['customer']>().toEqualTypeOf<{ tenantId: string; domain: string; name: string }>();
    expectTypeOf<ClaimFields['name']>().toEqualTypeOf<string | undefined>();
  });

  it('each payload type has the keys its schema requires, typed', () => {
    expectTypeOf<EventPayloads['reject']>().toEqualTypeOf<{ reason: string; comment?: string }>();
    expectTypeOf<EventPayloads['resolveDispute']>().toEqualTypeOf<{ outcome: DisputeOutcome; comment: string }>();
    expectTypeOf<EventPayloads['requestInfo']>().toEqualTypeOf<{ deficiencies: string[]; comment: string }>();
    expectTypeOf<EventPayloads['removePoe']>().toEqualTypeOf<{ poeId: string; comment?: string }>();
    expectTypeOf<EventPayloads['edit']>().toEqualTypeOf<Partial<EventPayloads['create']>>();
  });

  it('a payload the derived type admits passes the schema, and one it does not is refused', () => {
    const reject: EventPayloads['reject'] = { reason: 'insufficientPoe' };
    expect(validatePayload('reject', reject)).toBeUndefined();
    expect(validatePayload('reject', { comment: 'no reason' })).toMatchObject({ path: '$.reason' });
  });
});
