/**
 * Derives the facts policy rules see (FACT_CATALOG) from a claim. Pure: the evaluation
 * date is an input, never the clock.
 */
import type { ClaimFields, PoeDocument, Product } from '../domain/claim-types';
import type { FACT_CATALOG, FactDefinition, FactName } from './fact-catalog';

export interface FactInput {
  /** A claim in `editing` may be incomplete: missing lists count as empty. */
  fields: Partial<ClaimFields>;
  poe: PoeDocument[];
  status: string;
  /** evaluation date, local YYYY-MM-DD in the policy's time zone */
  asOfDate: string;
}

type FactValue<T extends FactDefinition['type']> = T extends 'number'
  ? number
  : T extends 'number|null'
    ? number | null
    : T extends 'string'
      ? string
      : T extends 'boolean'
        ? boolean
        : T extends 'array'
          ? string[]
          : never;

/** The value of every catalog fact, typed as the catalog declares it. */
export type Facts = { [K in FactName]: FactValue<(typeof FACT_CATALOG)[K]['type']> };

const MS_PER_DAY = 86_400_000;
const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a valid local date YYYY-MM-DD, else undefined. */
function dayNumber(date: unknown): number | undefined {
  if (typeof date !== 'string') return undefined;
  const match = LOCAL_DATE.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const check = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March: such a date is not a date.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return ms / MS_PER_DAY;
}

/** A product's code: the workload of a Microsoft 365 product, the product of a Business Applications one. */
function productCode(product: Partial<Product>): string | undefined {
  const code = product.line === 'microsoft365'
    ? (product as { workload?: unknown }).workload
    : product.line === 'businessApplications'
      ? (product as { product?: unknown }).product
      : undefined;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

function distinct(values: Iterable<string | undefined>): string[] {
  const seen = new Set<string>();
  for (const value of values) if (value !== undefined && value !== '') seen.add(value);
  return [...seen];
}

/**
 * Computes every FACT_CATALOG fact for a claim.
 * - A document is dated when its `signedOn` is a valid YYYY-MM-DD date; an unreadable
 *   date counts as no date (it cannot show the work is recent).
 * - `uncoveredProductCount` counts claimed product entries no document covers (so it
 *   equals `productCount` when there is no PoE); `uncoveredProducts` lists their codes once each.
 * - A missing `activity` is the empty string.
 * @throws RangeError when `asOfDate` is not a valid YYYY-MM-DD date.
 */
export function computeFacts(input: FactInput): Facts {
  const asOf = dayNumber(input.asOfDate);
  if (asOf === undefined) throw new RangeError(`asOfDate must be a local date YYYY-MM-DD, got ${String(input.asOfDate)}`);

  const poe = input.poe ?? [];
  const products: Array<Partial<Product>> = Array.isArray(input.fields.products) ? input.fields.products : [];

  const covered = new Set<string>();
  let newestSigned: number | undefined;
  let signedPoeCount = 0;
  let datedPoeCount = 0;
  let workDescribedPoeCount = 0;
  for (const doc of poe) {
    if (doc.customerSigned === true) signedPoeCount++;
    if (doc.describesWork === true) workDescribedPoeCount++;
    const signed = dayNumber(doc.signedOn);
    if (signed !== undefined) {
      datedPoeCount++;
      if (newestSigned === undefined || signed > newestSigned) newestSigned = signed;
    }
    for (const code of Array.isArray(doc.products) ? doc.products : []) covered.add(code);
  }

  const uncovered = products.filter((product) => {
    const code = productCode(product);
    return code !== undefined && !covered.has(code);
  });

  return {
    poeCount: poe.length,
    signedPoeCount,
    datedPoeCount,
    newestPoeAgeDays: newestSigned === undefined ? null : asOf - newestSigned,
    workDescribedPoeCount,
    productCount: products.length,
    uncoveredProductCount: uncovered.length,
    uncoveredProducts: distinct(uncovered.map(productCode)),
    productLines: distinct(products.map((product) => product.line)),
    workloads: distinct(products.filter((product) => product.line === 'microsoft365').map(productCode)),
    businessApplications: distinct(
      products.filter((product) => product.line === 'businessApplications').map(productCode),
    ),
    subscriptionCount: distinct(
      products.map((product) =>
        product.line === 'businessApplications' ? (product as { subscriptionId?: string }).subscriptionId : undefined,
      ),
    ).length,
    activity: typeof input.fields.activity === 'string' ? input.fields.activity : '',
    status: input.status,
  };
}
