/**
 * The facts policy rules may use, with their meaning. `computeFacts` (facts.ts)
 * derives them from a claim; the policy linter refuses a rule naming any other fact.
 */
export interface FactDefinition {
  type: 'number' | 'string' | 'array' | 'boolean' | 'number|null';
  description: string;
}

export const FACT_CATALOG = {
  poeCount: { type: 'number', description: 'Number of PoE documents on the claim.' },
  signedPoeCount: { type: 'number', description: 'PoE documents the customer signed (customerSigned: true).' },
  datedPoeCount: { type: 'number', description: 'PoE documents that carry a signing date (signedOn).' },
  newestPoeAgeDays: {
    type: 'number|null',
    description: 'Whole days from the newest signedOn date to the evaluation date (local dates); null when no document is dated.',
  },
  workDescribedPoeCount: {
    type: 'number',
    description: "PoE documents that describe the partner's solution or service (describesWork: true).",
  },
  productCount: { type: 'number', description: 'Products and workloads claimed.' },
  uncoveredProductCount: {
    type: 'number',
    description: 'Claimed products or workloads that no PoE document covers.',
  },
  uncoveredProducts: {
    type: 'array',
    description: 'The codes of the claimed products or workloads that no PoE document covers.',
  },
  productLines: { type: 'array', description: 'Distinct product lines claimed (microsoft365, businessApplications).' },
  workloads: { type: 'array', description: 'Microsoft 365 workloads claimed.' },
  businessApplications: { type: 'array', description: 'Business Applications products claimed.' },
  subscriptionCount: { type: 'number', description: 'Distinct Business Applications subscription IDs claimed.' },
  activity: { type: 'string', description: 'The claimed activity (preSales, deployment, usage, revenueAssociation).' },
  status: { type: 'string', description: 'The claim status.' },
} as const satisfies Record<string, FactDefinition>;

export type FactName = keyof typeof FACT_CATALOG;

/** json-rules-engine's built-in operators: the only ones a policy may use. */
export const OPERATORS = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
] as const;
