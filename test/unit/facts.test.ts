import { describe, expect, it } from 'vitest';
import type { ClaimFields, PoeDocument } from '../../src/domain/claim-types';
import { FACT_CATALOG } from '../../src/rules/fact-catalog';
import { computeFacts, type FactInput } from '../../src/rules/facts';
import { claimFields, poeDocument } from '../support/factories';

function factsFor(overrides: Partial<FactInput> = {}) {
  return computeFacts({ fields: claimFields(), poe: [poeDocument()], status: 'editing', asOfDate: '2026-03-02', ...overrides });
}

const dynamicsSales = { line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-1' } as const;
const powerBI = { line: 'businessApplications', product: 'powerBI', subscriptionId: 'sub-2' } as const;

describe('computeFacts', () => {
  it('computes every catalog fact with the type the catalog declares', () => {
    const facts = factsFor() as Record<string, unknown>;
    expect(Object.keys(facts).sort()).toEqual(Object.keys(FACT_CATALOG).sort());
    for (const [name, definition] of Object.entries(FACT_CATALOG)) {
      const value = facts[name];
      const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
      expect(definition.type.split('|'), `${name} is ${actual}`).toContain(actual);
    }
  });

  it('gives the expected facts for the default claim with one signed, dated, work-describing PoE', () => {
    expect(factsFor({ status: 'submitted' })).toEqual({
      poeCount: 1,
      signedPoeCount: 1,
      datedPoeCount: 1,
      newestPoeAgeDays: 10,
      workDescribedPoeCount: 1,
      productCount: 1,
      uncoveredProductCount: 0,
      uncoveredProducts: [],
      productLines: ['microsoft365'],
      workloads: ['teams'],
      businessApplications: [],
      subscriptionCount: 0,
      activity: 'preSales',
      status: 'submitted',
    });
  });

  describe('PoE counts', () => {
    it('counts documents, signed ones, dated ones and ones describing the work separately', () => {
      const facts = factsFor({
        poe: [
          poeDocument({ id: 'a' }),
          poeDocument({ id: 'b', customerSigned: false }),
          poeDocument({ id: 'c', signedOn: undefined }),
          poeDocument({ id: 'd', describesWork: false, customerSigned: false }),
        ],
      });
      expect(facts).toMatchObject({ poeCount: 4, signedPoeCount: 2, datedPoeCount: 3, workDescribedPoeCount: 3 });
    });

    it('counts zero of everything when there is no PoE', () => {
      expect(factsFor({ poe: [] })).toMatchObject({
        poeCount: 0,
        signedPoeCount: 0,
        datedPoeCount: 0,
        workDescribedPoeCount: 0,
        newestPoeAgeDays: null,
      });
    });

    it('treats a signedOn that is not a real YYYY-MM-DD date as no date', () => {
      const facts = factsFor({
        poe: [poeDocument({ signedOn: '2026-02-30' }), poeDocument({ signedOn: 'last spring' }), poeDocument({ signedOn: '' })],
      });
      expect(facts.datedPoeCount).toBe(0);
      expect(facts.newestPoeAgeDays).toBeNull();
    });

    it("reads a signedOn as the proleptic Gregorian calendar of Date.UTC does: month lengths, leap years, no year before 100", () => {
      // The reading it must agree with: the pattern, then Date.UTC's date round-tripped.
      const reference = (date: string) => {
        const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
        if (!match) return undefined;
        const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
        const check = new Date(Date.UTC(year, month - 1, day));
        return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day ? Date.UTC(year, month - 1, day) / 86_400_000 : undefined;
      };
      const dates = [
        '2024-02-29', '2023-02-29', '2000-02-29', '1900-02-29', '2026-04-31', '2026-04-30', '2026-12-31', '2026-13-01', '2026-00-10', '2026-01-00',
        '0050-01-01', '0099-12-31', '0100-01-01', '9999-12-31', '2026-1-01', '2026/01/01', ' 2026-01-01', '2026-01-01 ', '２０２６-01-01', '20a6-01-01', '2026-01-0x',
      ];
      let state = 11;
      for (let i = 0; i < 300; i++) {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        const pad = (n: number, width: number) => String(n).padStart(width, '0');
        dates.push(`${pad(state % 3000, 4)}-${pad((state >> 3) % 14, 2)}-${pad((state >> 7) % 33, 2)}`);
      }
      const asOf = reference('2026-03-02')!;
      for (const signedOn of dates) {
        const facts = factsFor({ poe: [poeDocument({ signedOn })] });
        const expected = reference(signedOn);
        expect([signedOn, facts.datedPoeCount, facts.newestPoeAgeDays]).toEqual([signedOn, expected === undefined ? 0 : 1, expected === undefined ? null : asOf - expected]);
      }
    });
  });

  describe('newestPoeAgeDays', () => {
    it('counts whole days from the newest signedOn to the evaluation date', () => {
      const poe = [poeDocument({ signedOn: '2025-01-01' }), poeDocument({ signedOn: '2026-02-20' }), poeDocument({ signedOn: '2025-12-31' })];
      expect(factsFor({ poe, asOfDate: '2026-03-02' }).newestPoeAgeDays).toBe(10);
    });

    it('is 0 when the newest document was signed on the evaluation date', () => {
      expect(factsFor({ poe: [poeDocument({ signedOn: '2026-03-02' })] }).newestPoeAgeDays).toBe(0);
    });

    it('is negative when the newest document is signed after the evaluation date', () => {
      expect(factsFor({ poe: [poeDocument({ signedOn: '2026-03-05' })] }).newestPoeAgeDays).toBe(-3);
    });

    it('is 365 and 366 for documents signed 365 and 366 days before the evaluation date', () => {
      expect(factsFor({ poe: [poeDocument({ signedOn: '2025-03-02' })], asOfDate: '2026-03-02' }).newestPoeAgeDays).toBe(365);
      expect(factsFor({ poe: [poeDocument({ signedOn: '2025-03-01' })], asOfDate: '2026-03-02' }).newestPoeAgeDays).toBe(366);
    });

    it('counts 29 February in a leap year and is unaffected by daylight-saving changes', () => {
      expect(factsFor({ poe: [poeDocument({ signedOn: '2024-02-28' })], asOfDate: '2024-03-01' }).newestPoeAgeDays).toBe(2);
      // America/Los_Angeles springs forward on 2026-03-08: still whole local days.
      expect(factsFor({ poe: [poeDocument({ signedOn: '2026-03-07' })], asOfDate: '2026-03-09' }).newestPoeAgeDays).toBe(2);
    });

    it('ignores undated documents when finding the newest date', () => {
      const poe = [poeDocument({ signedOn: undefined }), poeDocument({ signedOn: '2026-02-27' })];
      expect(factsFor({ poe }).newestPoeAgeDays).toBe(3);
    });

    it('is null when no document has a signedOn', () => {
      const poe = [poeDocument({ signedOn: undefined }), poeDocument({ id: 'poe-2', signedOn: undefined })];
      expect(factsFor({ poe }).newestPoeAgeDays).toBeNull();
    });
  });

  describe('products and coverage', () => {
    it('uses the workload as the code of a Microsoft 365 product and the product of a Business Applications one', () => {
      const fields = claimFields({ products: [{ line: 'microsoft365', workload: 'exchange' }, dynamicsSales] });
      const facts = factsFor({ fields, poe: [poeDocument({ products: ['exchange', 'dynamics365Sales'] })] });
      expect(facts.uncoveredProducts).toEqual([]);
      expect(facts.workloads).toEqual(['exchange']);
      expect(facts.businessApplications).toEqual(['dynamics365Sales']);
    });

    it('lists claimed products that no document covers, taking the union over all documents', () => {
      const fields = claimFields({
        products: [{ line: 'microsoft365', workload: 'teams' }, { line: 'microsoft365', workload: 'exchange' }, dynamicsSales, powerBI],
      });
      const poe = [poeDocument({ products: ['teams'] }), poeDocument({ id: 'poe-2', products: ['powerBI', 'sharePoint'] })];
      const facts = factsFor({ fields, poe });
      expect(facts.uncoveredProducts).toEqual(['exchange', 'dynamics365Sales']);
      expect(facts.uncoveredProductCount).toBe(2);
      expect(facts.productCount).toBe(4);
    });

    it('does not count a product as covered because another line uses the same name', () => {
      // A document listing "powerBI" covers Power BI; it says nothing about the Teams workload.
      const facts = factsFor({ poe: [poeDocument({ products: ['powerBI'] })] });
      expect(facts.uncoveredProducts).toEqual(['teams']);
    });

    it('counts every claimed product as uncovered when there is no PoE', () => {
      const fields = claimFields({ products: [{ line: 'microsoft365', workload: 'teams' }, dynamicsSales] });
      const facts = factsFor({ fields, poe: [] });
      expect(facts.uncoveredProductCount).toBe(2);
      expect(facts.uncoveredProducts).toEqual(['teams', 'dynamics365Sales']);
    });

    it('counts each uncovered claimed product entry but lists its code once', () => {
      const fields = claimFields({ products: [dynamicsSales, { ...dynamicsSales, subscriptionId: 'sub-9' }] });
      const facts = factsFor({ fields, poe: [] });
      expect(facts.uncoveredProductCount).toBe(2);
      expect(facts.uncoveredProducts).toEqual(['dynamics365Sales']);
    });

    it('lists distinct product lines, workloads and Business Applications products in claim order', () => {
      const fields = claimFields({
        products: [
          powerBI,
          { line: 'microsoft365', workload: 'teams' },
          dynamicsSales,
          { line: 'microsoft365', workload: 'intune' },
          { ...powerBI, subscriptionId: 'sub-3' },
        ],
      });
      const facts = factsFor({ fields });
      expect(facts.productLines).toEqual(['businessApplications', 'microsoft365']);
      expect(facts.workloads).toEqual(['teams', 'intune']);
      expect(facts.businessApplications).toEqual(['powerBI', 'dynamics365Sales']);
    });

    it('counts distinct Business Applications subscription IDs', () => {
      const fields = claimFields({ products: [dynamicsSales, powerBI, { ...powerBI, product: 'powerApps' }] });
      expect(factsFor({ fields }).subscriptionCount).toBe(2);
    });
  });

  it('passes the activity and the status through', () => {
    const facts = factsFor({ fields: claimFields({ activity: 'usage' }), status: 'underReview' });
    expect(facts.activity).toBe('usage');
    expect(facts.status).toBe('underReview');
  });

  it('tolerates a partial claim in editing: missing products are an empty list and a missing activity is ""', () => {
    const fields: Partial<ClaimFields> = { partnerId: '4512345' };
    const facts = computeFacts({ fields, poe: [], status: 'editing', asOfDate: '2026-03-02' });
    expect(facts).toMatchObject({
      productCount: 0,
      uncoveredProductCount: 0,
      uncoveredProducts: [],
      productLines: [],
      workloads: [],
      businessApplications: [],
      subscriptionCount: 0,
      activity: '',
    });
  });

  it('tolerates a PoE document without a products list', () => {
    const poe = [{ ...poeDocument(), products: undefined } as unknown as PoeDocument];
    expect(factsFor({ poe }).uncoveredProducts).toEqual(['teams']);
  });

  it('does not modify its input and gives the same facts for the same input', () => {
    const input: FactInput = deepFreeze({ fields: claimFields(), poe: [poeDocument()], status: 'editing', asOfDate: '2026-03-02' });
    expect(computeFacts(input)).toEqual(computeFacts(input));
  });

  it('refuses an evaluation date that is not YYYY-MM-DD', () => {
    expect(() => factsFor({ asOfDate: '2026-03-02T00:00:00Z' })).toThrow(RangeError);
    expect(() => factsFor({ asOfDate: '2026-13-01' })).toThrow(RangeError);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
