import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { computeFacts, type FactInput, type Facts } from '../../src/rules/facts';
import {
  createRuleSet,
  describeCondition,
  type ConditionExplanation,
  type RuleOutcome,
  type RuleSet,
} from '../../src/rules/evaluate-rules';
import { formatIssue, loadPolicyFile } from '../../src/rules/load-policy';
import type { Condition, Policy } from '../../src/rules/policy-types';
import { claimFields, poeDocument } from '../support/factories';

const engines = vi.hoisted(() => ({ built: 0 }));

vi.mock('json-rules-engine', async (importOriginal) => {
  const original = await importOriginal<typeof import('json-rules-engine')>();
  class CountingEngine extends original.Engine {
    constructor(...args: ConstructorParameters<typeof original.Engine>) {
      super(...args);
      engines.built++;
    }
  }
  return { ...original, Engine: CountingEngine };
});

/** The bundled policy, through the real loader (validated and deeply frozen). */
async function loadBundledPolicy(): Promise<Policy> {
  const loaded = await loadPolicyFile(fileURLToPath(new URL('../../policies/cpor.yaml', import.meta.url)));
  if (!loaded.ok) throw new Error(loaded.errors.map(formatIssue).join('\n'));
  return loaded.policy;
}

const AS_OF = '2026-03-02';

function facts(overrides: Partial<FactInput> = {}): Facts {
  return computeFacts({ fields: claimFields(), poe: [poeDocument()], status: 'editing', asOfDate: AS_OF, ...overrides });
}

function outcome(outcomes: RuleOutcome[], code: string): RuleOutcome {
  const found = outcomes.find((candidate) => candidate.code === code);
  if (!found) throw new Error(`no outcome for ${code}`);
  return found;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

let policy: Policy;
let rules: RuleSet;

beforeAll(async () => {
  policy = await loadBundledPolicy();
  rules = createRuleSet(policy);
});

/** A policy holding only the given deficiencies (for rule shapes the bundled policy does not use). */
function policyWithDeficiencies(...whens: Condition[]): Policy {
  return {
    ...policy,
    submissionRequirements: [],
    deficiencies: whens.map((when, index) => ({ code: `custom${index}`, description: 'test rule', when })),
    incentivePrograms: [],
  };
}

const dynamicsSales = { line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-1' } as const;

interface DeficiencyCase {
  code: string;
  situation: string;
  input: Partial<FactInput>;
}

const detected: DeficiencyCase[] = [
  { code: 'missingAllPoe', situation: 'the claim has no PoE', input: { poe: [] } },
  {
    code: 'missingCustomerAcknowledgment',
    situation: 'no document is signed by the customer',
    input: { poe: [poeDocument({ customerSigned: false }), poeDocument({ id: 'poe-2', customerSigned: false })] },
  },
  {
    code: 'missingOrOldDates',
    situation: 'the newest document was signed 366 days ago',
    input: { poe: [poeDocument({ signedOn: '2025-03-01' })] },
  },
  {
    code: 'missingOrOldDates',
    situation: 'no document has a signedOn date',
    input: { poe: [poeDocument({ signedOn: undefined })] },
  },
  {
    code: 'missingPartnerSolution',
    situation: 'no document describes the work',
    input: { poe: [poeDocument({ describesWork: false })] },
  },
  {
    code: 'missingProducts',
    situation: 'a claimed workload is on no document',
    input: {
      fields: claimFields({ products: [{ line: 'microsoft365', workload: 'teams' }, { line: 'microsoft365', workload: 'exchange' }] }),
    },
  },
  {
    code: 'missingProducts',
    situation: 'a claimed Business Applications product is on no document',
    input: { fields: claimFields({ products: [dynamicsSales] }), poe: [poeDocument({ products: ['powerBI'] })] },
  },
];

const notDetected: DeficiencyCase[] = [
  { code: 'missingAllPoe', situation: 'the claim has a PoE', input: {} },
  {
    code: 'missingCustomerAcknowledgment',
    situation: 'one of two documents is signed',
    input: { poe: [poeDocument({ customerSigned: false }), poeDocument({ id: 'poe-2' })] },
  },
  { code: 'missingCustomerAcknowledgment', situation: 'there is no PoE at all', input: { poe: [] } },
  {
    code: 'missingOrOldDates',
    situation: 'the newest document was signed exactly 365 days ago',
    input: { poe: [poeDocument({ signedOn: '2025-03-02' })] },
  },
  {
    code: 'missingOrOldDates',
    situation: 'an old document is joined by a recent one',
    input: { poe: [poeDocument({ signedOn: '2023-01-10' }), poeDocument({ id: 'poe-2', signedOn: '2026-02-20' })] },
  },
  {
    code: 'missingOrOldDates',
    situation: 'one document is undated but another is recent',
    input: { poe: [poeDocument({ signedOn: undefined }), poeDocument({ id: 'poe-2' })] },
  },
  { code: 'missingOrOldDates', situation: 'there is no PoE at all', input: { poe: [] } },
  {
    code: 'missingPartnerSolution',
    situation: 'one document describes the work',
    input: { poe: [poeDocument({ describesWork: false }), poeDocument({ id: 'poe-2' })] },
  },
  { code: 'missingPartnerSolution', situation: 'there is no PoE at all', input: { poe: [] } },
  {
    code: 'missingProducts',
    situation: 'the documents together cover every claimed product',
    input: {
      fields: claimFields({ products: [{ line: 'microsoft365', workload: 'teams' }, dynamicsSales] }),
      poe: [poeDocument(), poeDocument({ id: 'poe-2', products: ['dynamics365Sales'] })],
    },
  },
  { code: 'missingProducts', situation: 'there is no PoE at all', input: { poe: [] } },
];

describe('deficiencies', () => {
  it('has a detected and a not-detected case for every bundled deficiency code with a rule', () => {
    const codes = policy.deficiencies.filter((deficiency) => deficiency.when).map((deficiency) => deficiency.code);
    expect(new Set(detected.map((c) => c.code))).toEqual(new Set(codes));
    expect(new Set(notDetected.map((c) => c.code))).toEqual(new Set(codes));
  });

  it.each(detected)('detects $code when $situation', async ({ code, input }) => {
    expect(outcome(await rules.evaluateDeficiencies(facts(input)), code).matched).toBe(true);
  });

  it.each(notDetected)('does not detect $code when $situation', async ({ code, input }) => {
    expect(outcome(await rules.evaluateDeficiencies(facts(input)), code).matched).toBe(false);
  });

  it('finds no deficiency for the default claim with its signed, dated, work-describing PoE', async () => {
    const found = (await rules.evaluateDeficiencies(facts())).filter((result) => result.matched);
    expect(found).toEqual([]);
  });

  it('reports every deficiency that has a rule, in policy order, and skips reviewer-only codes', async () => {
    const withReviewerOnly: Policy = {
      ...policy,
      deficiencies: [...policy.deficiencies, { code: 'reviewerOnly', description: 'no rule' }],
    };
    const outcomes = await createRuleSet(withReviewerOnly).evaluateDeficiencies(facts({ poe: [] }));
    expect(outcomes.map((result) => result.code)).toEqual([
      'missingAllPoe',
      'missingCustomerAcknowledgment',
      'missingOrOldDates',
      'missingPartnerSolution',
      'missingProducts',
    ]);
  });
});

describe('submission requirements', () => {
  it('pass, with each requirement met and its message, when the claim has a PoE and a product', async () => {
    const requirements = await rules.evaluateRequirements(facts());
    expect(requirements.passed).toBe(true);
    expect(requirements.results.map(({ code, matched }) => ({ code, matched }))).toEqual([
      { code: 'poeRequired', matched: true },
      { code: 'productsRequired', matched: true },
    ]);
    expect(requirements.results[0]?.message).toBe(
      "Upload at least one proof-of-execution document before submitting (the customer's signature on it is checked in review).",
    );
  });

  it('fail on poeRequired, with its message, when the claim has no PoE', async () => {
    const requirements = await rules.evaluateRequirements(facts({ poe: [] }));
    expect(requirements.passed).toBe(false);
    const failed = requirements.results.filter((result) => !result.matched);
    expect(failed.map((result) => result.code)).toEqual(['poeRequired']);
    expect(failed[0]?.message).toMatch(/Upload at least one proof-of-execution document/);
  });

  it('fail on productsRequired for a claim in editing that has no products yet', async () => {
    const partial = computeFacts({ fields: { partnerId: '4512345' }, poe: [poeDocument()], status: 'editing', asOfDate: AS_OF });
    const requirements = await rules.evaluateRequirements(partial);
    expect(requirements.passed).toBe(false);
    expect(requirements.results.filter((result) => !result.matched).map((result) => result.message)).toEqual([
      'Add at least one product or workload to the claim before submitting.',
    ]);
  });

  it('are the same whether evaluated alone or with everything else', async () => {
    const input = facts({ poe: [] });
    expect((await rules.evaluate(input)).requirements).toEqual(await rules.evaluateRequirements(input));
  });
});

describe('incentive eligibility', () => {
  async function eligible(input: Partial<FactInput>): Promise<string[]> {
    return (await rules.evaluateEligibility(facts(input))).filter((result) => result.matched).map((result) => result.code);
  }

  it('lists every program, in policy order', async () => {
    expect((await rules.evaluateEligibility(facts())).map((result) => result.code)).toEqual(['OSU', 'OSA']);
  });

  it('makes a Microsoft 365 deployment or usage claim eligible for OSU only', async () => {
    expect(await eligible({ fields: claimFields({ activity: 'deployment' }) })).toEqual(['OSU']);
    expect(await eligible({ fields: claimFields({ activity: 'usage' }) })).toEqual(['OSU']);
  });

  it('makes a Microsoft 365 pre-sales claim eligible for nothing', async () => {
    expect(await eligible({ fields: claimFields({ activity: 'preSales' }) })).toEqual([]);
  });

  it('makes a Business Applications pre-sales or deployment claim eligible for OSA only', async () => {
    expect(await eligible({ fields: claimFields({ products: [dynamicsSales], activity: 'preSales' }) })).toEqual(['OSA']);
    expect(await eligible({ fields: claimFields({ products: [dynamicsSales], activity: 'deployment' }) })).toEqual(['OSA']);
  });

  it('makes a Business Applications usage claim ineligible for OSA', async () => {
    expect(await eligible({ fields: claimFields({ products: [dynamicsSales], activity: 'usage' }) })).toEqual([]);
  });

  it('makes a deployment claim for both product lines eligible for OSU and OSA', async () => {
    const products = [{ line: 'microsoft365', workload: 'teams' } as const, dynamicsSales];
    expect(await eligible({ fields: claimFields({ products, activity: 'deployment' }) })).toEqual(['OSU', 'OSA']);
  });

  it('makes a revenue-association claim eligible for nothing', async () => {
    const products = [{ line: 'microsoft365', workload: 'teams' } as const, dynamicsSales];
    expect(await eligible({ fields: claimFields({ products, activity: 'revenueAssociation' }) })).toEqual([]);
  });
});

describe('explanations', () => {
  it('show every condition of missingOrOldDates with the fact value seen, at 365 days old', async () => {
    const result = outcome(await rules.evaluateDeficiencies(facts({ poe: [poeDocument({ signedOn: '2025-03-02' })] })), 'missingOrOldDates');
    expect(result.explanation).toEqual({
      all: [
        { fact: 'poeCount', operator: 'greaterThan', value: 0, factValue: 1, result: true },
        {
          any: [
            { fact: 'datedPoeCount', operator: 'equal', value: 0, factValue: 1, result: false },
            { fact: 'newestPoeAgeDays', operator: 'greaterThan', value: 365, factValue: 365, result: false },
          ],
          result: false,
        },
      ],
      result: false,
    });
  });

  it('show a null age and the undated count when no document has a signedOn', async () => {
    const result = outcome(await rules.evaluateDeficiencies(facts({ poe: [poeDocument({ signedOn: undefined })] })), 'missingOrOldDates');
    const any = (result.explanation as { all: ConditionExplanation[] }).all[1] as { any: ConditionExplanation[] };
    expect(any.any).toEqual([
      { fact: 'datedPoeCount', operator: 'equal', value: 0, factValue: 0, result: true },
      { fact: 'newestPoeAgeDays', operator: 'greaterThan', value: 365, factValue: null, result: false },
    ]);
  });

  it('show the failing requirement condition and the fact value, and the summary names them', async () => {
    const { results } = await rules.evaluateRequirements(facts({ poe: [] }));
    const poeRequired = results[0]!;
    expect(poeRequired.explanation).toEqual({
      all: [{ fact: 'poeCount', operator: 'greaterThanInclusive', value: 1, factValue: 0, result: false }],
      result: false,
    });
    expect(poeRequired.summary).toBe('Requirement poeRequired not met: poeCount greaterThanInclusive 1 is false (poeCount is 0).');
  });

  it('summarise a found deficiency with every condition that had to hold', async () => {
    const result = outcome(await rules.evaluateDeficiencies(facts({ poe: [poeDocument({ signedOn: '2025-03-01' })] })), 'missingOrOldDates');
    expect(result.summary).toBe(
      'Deficiency missingOrOldDates found: poeCount greaterThan 0 is true (poeCount is 1); newestPoeAgeDays greaterThan 365 is true (newestPoeAgeDays is 366).',
    );
  });

  it('summarise a deficiency not found with the condition that failed', async () => {
    const result = outcome(await rules.evaluateDeficiencies(facts({ poe: [] })), 'missingProducts');
    expect(result.summary).toBe('Deficiency missingProducts not found: poeCount greaterThan 0 is false (poeCount is 0).');
  });

  it('summarise ineligibility with the condition that failed and the activity seen', async () => {
    const result = outcome(await rules.evaluateEligibility(facts()), 'OSU');
    expect(result.summary).toBe('Not eligible for OSU: activity in ["deployment","usage"] is false (activity is "preSales").');
  });

  it('summarise eligibility with the conditions that held', async () => {
    const result = outcome(await rules.evaluateEligibility(facts({ fields: claimFields({ activity: 'usage' }) })), 'OSU');
    expect(result.summary).toBe(
      'Eligible for OSU: productLines contains "microsoft365" is true (productLines is ["microsoft365"]); activity in ["deployment","usage"] is true (activity is "usage").',
    );
  });

  it('describe a single comparison on one line', () => {
    const text = describeCondition({ fact: 'poeCount', operator: 'greaterThanInclusive', value: 1, factValue: 0, result: false });
    expect(text).toBe('poeCount (0) greaterThanInclusive 1: false');
  });

  it('describe groups with their verdict and their conditions indented below', async () => {
    const result = outcome(await rules.evaluateDeficiencies(facts({ poe: [poeDocument({ signedOn: '2025-03-01' })] })), 'missingOrOldDates');
    expect(describeCondition(result.explanation)).toBe(
      [
        'all: true',
        '  poeCount (1) greaterThan 0: true',
        '  any: true',
        '    datedPoeCount (1) equal 0: false',
        '    newestPoeAgeDays (366) greaterThan 365: true',
      ].join('\n'),
    );
  });

  it('explain a negated condition and say so in the summary', async () => {
    const set = createRuleSet(policyWithDeficiencies({ not: { all: [{ fact: 'poeCount', operator: 'equal', value: 0 }] } }));
    const [result] = await set.evaluateDeficiencies(facts({ poe: [] }));
    expect(result?.explanation).toEqual({
      not: { all: [{ fact: 'poeCount', operator: 'equal', value: 0, factValue: 0, result: true }], result: true },
      result: false,
    });
    expect(result?.summary).toBe('Deficiency custom0 not found: not (poeCount equal 0) is false (poeCount is 0).');
  });

  it('explain a bare comparison used as a whole rule as that comparison', async () => {
    const set = createRuleSet(policyWithDeficiencies({ fact: 'poeCount', operator: 'equal', value: 0 }));
    const [result] = await set.evaluateDeficiencies(facts({ poe: [] }));
    expect(result?.matched).toBe(true);
    expect(result?.explanation).toEqual({ fact: 'poeCount', operator: 'equal', value: 0, factValue: 0, result: true });
  });

  it('report an unknown fact as undefined and its condition as false', async () => {
    const set = createRuleSet(policyWithDeficiencies({ all: [{ fact: 'noSuchFact', operator: 'equal', value: 1 }] }));
    const [result] = await set.evaluateDeficiencies(facts());
    expect(result?.explanation).toEqual({
      all: [{ fact: 'noSuchFact', operator: 'equal', value: 1, factValue: undefined, result: false }],
      result: false,
    });
    expect(result?.summary).toContain('(noSuchFact is undefined)');
  });

  describe('conditions json-rules-engine short-circuits (a higher condition priority decided first)', () => {
    const prioritized = {
      all: [
        { fact: 'poeCount', operator: 'equal', value: 1, priority: 2 },
        { fact: 'signedPoeCount', operator: 'equal', value: 0 },
        { fact: 'uncoveredProducts', operator: 'equal', value: 'teams', path: '$[0]' },
      ],
    } as unknown as Condition;

    it('still show the fact value and the computed result, marked shortCircuited', async () => {
      const set = createRuleSet(policyWithDeficiencies(prioritized));
      const [result] = await set.evaluateDeficiencies(facts({ poe: [] }));
      expect(result?.matched).toBe(false);
      expect(result?.explanation).toEqual({
        all: [
          { fact: 'poeCount', operator: 'equal', value: 1, factValue: 0, result: false },
          { fact: 'signedPoeCount', operator: 'equal', value: 0, factValue: 0, result: true, shortCircuited: true },
          { fact: 'uncoveredProducts', operator: 'equal', value: 'teams', factValue: 'teams', result: true, shortCircuited: true },
        ],
        result: false,
      });
      expect(describeCondition(result!.explanation)).toContain(
        'signedPoeCount (0) equal 0: true (not needed by the engine; computed for this explanation)',
      );
    });

    it('name the condition the engine decided on in the summary', async () => {
      const set = createRuleSet(policyWithDeficiencies(prioritized));
      const [result] = await set.evaluateDeficiencies(facts({ poe: [] }));
      expect(result?.summary).toBe('Deficiency custom0 not found: poeCount equal 1 is false (poeCount is 0).');
    });

    it('compute skipped branches of an any that an earlier condition already satisfied', async () => {
      const anyFirst = {
        any: [
          { fact: 'poeCount', operator: 'equal', value: 0, priority: 5 },
          { all: [{ fact: 'productCount', operator: 'greaterThan', value: 3 }] },
        ],
      } as unknown as Condition;
      const [result] = await createRuleSet(policyWithDeficiencies(anyFirst)).evaluateDeficiencies(facts({ poe: [] }));
      expect(result?.explanation).toEqual({
        any: [
          { fact: 'poeCount', operator: 'equal', value: 0, factValue: 0, result: true },
          {
            all: [{ fact: 'productCount', operator: 'greaterThan', value: 3, factValue: 1, result: false, shortCircuited: true }],
            result: false,
          },
        ],
        result: true,
      });
    });

    it('accept a deeply frozen policy (as the loader returns it)', async () => {
      const frozen = deepFreeze(policyWithDeficiencies(structuredClone(prioritized)));
      const [result] = await createRuleSet(frozen).evaluateDeficiencies(facts({ poe: [] }));
      expect(result?.matched).toBe(false);
    });
  });
});

describe('evaluate', () => {
  it('returns deficiencies, requirements and eligibility matching the separate evaluations', async () => {
    const input = facts({ poe: [poeDocument({ customerSigned: false })], fields: claimFields({ activity: 'usage' }) });
    expect(await rules.evaluate(input)).toEqual({
      deficiencies: await rules.evaluateDeficiencies(input),
      requirements: await rules.evaluateRequirements(input),
      eligibility: await rules.evaluateEligibility(input),
    });
  });
});

describe('concurrency and engine reuse', () => {
  /** Fifty different claims: PoE ages 340..389 days, every third without PoE, alternating activity. */
  const inputs = Array.from({ length: 50 }, (_, i) =>
    facts({
      poe: i % 3 === 0 ? [] : [poeDocument({ signedOn: '2025-03-02' })],
      asOfDate: new Date(Date.UTC(2026, 2, 2 - 25 + i)).toISOString().slice(0, 10),
      fields: claimFields({ activity: i % 2 === 0 ? 'usage' : 'preSales' }),
    }),
  );

  it('gives each of 50 concurrent evaluations its own correct answer', async () => {
    const sequential = [];
    for (const input of inputs) sequential.push(await rules.evaluate(input));

    const concurrent = await Promise.all(inputs.map((input) => rules.evaluate(input)));

    expect(concurrent).toEqual(sequential);
    concurrent.forEach((evaluation, i) => {
      const input = inputs[i]!;
      const old = input.poeCount > 0 && (input.newestPoeAgeDays ?? 0) > 365;
      expect(outcome(evaluation.deficiencies, 'missingOrOldDates').matched, `claim ${i}`).toBe(old);
      expect(outcome(evaluation.deficiencies, 'missingAllPoe').matched, `claim ${i}`).toBe(input.poeCount === 0);
      expect(evaluation.requirements.passed, `claim ${i}`).toBe(input.poeCount > 0);
      expect(outcome(evaluation.eligibility, 'OSU').matched, `claim ${i}`).toBe(input.activity === 'usage');
      if (input.poeCount > 0) {
        expect(describeCondition(outcome(evaluation.deficiencies, 'missingOrOldDates').explanation)).toContain(
          `newestPoeAgeDays (${input.newestPoeAgeDays})`,
        );
      }
    });
  });

  it('keeps answers apart when the different kinds of evaluation run concurrently', async () => {
    const runs = inputs.flatMap((input) => [
      rules.evaluateDeficiencies(input).then((result) => ({ input, deficiencies: result })),
      rules.evaluateRequirements(input).then((result) => ({ input, requirements: result })),
    ]);
    for (const run of await Promise.all(runs)) {
      if ('deficiencies' in run) expect(outcome(run.deficiencies, 'missingAllPoe').matched).toBe(run.input.poeCount === 0);
      else expect(run.requirements.passed).toBe(run.input.poeCount > 0);
    }
  });

  it('builds engines when the rule set is created, not per evaluation', async () => {
    const set = createRuleSet(policy);
    const built = engines.built;
    for (const input of inputs.slice(0, 20)) await set.evaluate(input);
    await set.evaluateRequirements(inputs[0]!);
    await set.evaluateDeficiencies(inputs[0]!);
    await set.evaluateEligibility(inputs[0]!);
    expect(engines.built).toBe(built);
  });

  it('builds extra engines only while all are busy, and reuses them afterwards', async () => {
    const set = createRuleSet(policy);
    const before = engines.built;
    await Promise.all(inputs.map((input) => set.evaluate(input)));
    const afterBurst = engines.built;
    expect(afterBurst - before).toBeGreaterThan(0);
    expect(afterBurst - before).toBeLessThanOrEqual(inputs.length - 1);
    await Promise.all(inputs.slice(0, 4).map((input) => set.evaluate(input)));
    expect(engines.built).toBe(afterBurst);
  });
});
