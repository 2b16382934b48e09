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

/** The number written by the `length` digits of `text` from `start`, or -1 if any is not a digit 0–9. */
function digits(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days since 1970-01-01 of a valid local date YYYY-MM-DD, else undefined (2026-02-30 is not a
 * date; nor is a year before 100, which Date.UTC would read as 19xx). Read digit by digit:
 * every evaluation reads its own date and each document's.
 */
function dayNumber(date: unknown): number | undefined {
  if (typeof date !== 'string' || date.length !== 10 || date.charCodeAt(4) !== 45 || date.charCodeAt(7) !== 45) return undefined;
  const year = digits(date, 0, 4);
  const month = digits(date, 5, 2);
  const day = digits(date, 8, 2);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return undefined;
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
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
