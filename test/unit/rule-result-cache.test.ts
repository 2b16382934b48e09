import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateClaim, type EvaluationInput } from '../../src/evaluation/evaluate-claim';
import { createRuleResultCache, factsKey } from '../../src/evaluation/rule-result-cache';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { computeFacts } from '../../src/rules/facts';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { claimFields, poePayload } from '../support/factories';

let compiled: CompiledPolicy;
beforeAll(async () => {
  compiled = await compiledBundledPolicy();
});

const POE = poePayload();
const activities = ['preSales', 'deployment', 'usage', 'revenueAssociation'] as const;

/** A deterministic pseudo-random mix of claims (LCG), some repeated, some at other instants. */
function randomInputs(count: number, seed = 7): EvaluationInput[] {
  let state = seed;
  const next = (n: number) => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) % n);
  return Array.from({ length: count }, () => {
    const products = [[], [{ line: 'microsoft365', workload: 'teams' }], [{ line: 'businessApplications', product: 'powerApps', subscriptionId: `s-${next(4)}` }]][next(3)]!;
    return {
      claim: {
        status: 'editing',
        fields: claimFields({ activity: activities[next(4)]!, products } as never),
        poe: Array.from({ length: next(4) }, () => ({ ...POE, customerSigned: next(2) === 0 })),
      },
      asOf: ['2026-03-02T18:00:00Z', '2026-03-05T09:00:00Z', '2026-06-30T23:59:59Z'][next(3)]!,
    } as EvaluationInput;
  });
}

/** A claim in editing with `documents` PoE documents. */
const withPoe = (documents: number): EvaluationInput => ({
  claim: { status: 'editing', fields: claimFields(), poe: Array.from({ length: documents }, () => POE) },
  asOf: '2026-03-02T18:00:00Z',
});

describe('rule result cache', () => {
  it('answers exactly as the uncached evaluation over random claims, hitting on the repeated facts', async () => {
    const cache = createRuleResultCache(10_000);
    const inputs = randomInputs(400);
    for (const given of inputs) {
      const cold = await evaluateClaim(compiled, given);
      const cached = await evaluateClaim(compiled, given, { cache });
      expect(cached).toEqual(cold);
    }
    expect(cache.hits).toBeGreaterThan(0);
    expect(cache.hits + cache.misses).toBe(400);
    // Asked again, every one hits, and still answers as cold.
    const before = cache.hits;
    for (const given of inputs) expect(await evaluateClaim(compiled, given, { cache })).toEqual(await evaluateClaim(compiled, given));
    expect(cache.hits - before).toBe(400);
  });

  it('never hits for different facts or another policy version', async () => {
    const cache = createRuleResultCache(100);
    const given = withPoe(1);
    await evaluateClaim(compiled, given, { cache });
    expect([cache.hits, cache.misses]).toEqual([0, 1]);
    await evaluateClaim(compiled, withPoe(0), { cache });
    expect([cache.hits, cache.misses]).toEqual([0, 2]);
    const variant = compilePolicy(withPolicy(compiled.policy, (draft) => void (draft.version = '2026.9')));
    const other = await evaluateClaim(variant, given, { cache });
    expect([cache.hits, cache.misses]).toEqual([0, 3]);
    expect(other.policy.version).toBe('2026.9');
    await evaluateClaim(compiled, given, { cache });
    expect([cache.hits, cache.misses]).toEqual([1, 3]);
  });

  it('keeps at most its size, dropping the least recently used; size 0 keeps nothing', async () => {
    const cache = createRuleResultCache(2);
    const [a, b, c] = [withPoe(1), withPoe(2), withPoe(3)];
    for (const given of [a, b, a, c]) await evaluateClaim(compiled, given!, { cache });
    expect(cache.size).toBe(2);
    await evaluateClaim(compiled, a!, { cache }); // a was used after b: kept
    await evaluateClaim(compiled, b!, { cache }); // b was the least recent: dropped
    expect([cache.hits, cache.misses]).toEqual([2, 4]);

    const none = createRuleResultCache(0);
    await evaluateClaim(compiled, a!, { cache: none });
    await evaluateClaim(compiled, a!, { cache: none });
    expect([none.hits, none.misses, none.size]).toEqual([0, 2, 0]);
  });

  it('keys facts by the values of the facts the rules read: key order and unread facts do not matter', () => {
    const facts = computeFacts({ fields: claimFields(), poe: [], status: 'editing', asOfDate: '2026-03-02' });
    const reversed = Object.fromEntries(Object.entries(facts).reverse()) as typeof facts;
    expect(factsKey(compiled, reversed)).toBe(factsKey(compiled, facts));
    // The bundled policy's rules read neither the status nor the workloads.
    expect(factsKey(compiled, { ...facts, status: 'submitted', workloads: ['intune'] })).toBe(factsKey(compiled, facts));
    expect(factsKey(compiled, { ...facts, poeCount: 1 })).not.toBe(factsKey(compiled, facts));
    expect(factsKey(compiled, { ...facts, newestPoeAgeDays: 0 })).not.toBe(factsKey(compiled, { ...facts, newestPoeAgeDays: null }));
    expect(factsKey(compiled, { ...facts, activity: 'usage' })).not.toBe(factsKey(compiled, facts));
  });

  it('serves claims that differ only in facts no rule reads from one entry, answering as the uncached evaluation', async () => {
    const cache = createRuleResultCache(100);
    const editing = withPoe(1);
    const submitted: EvaluationInput = {
      ...editing,
      claim: { ...editing.claim, status: 'submitted', history: [{ at: '2026-03-02T17:00:00Z', to: 'editing' }, { at: '2026-03-02T17:30:00Z', to: 'submitted' }] },
    };
    expect(await evaluateClaim(compiled, editing, { cache })).toEqual(await evaluateClaim(compiled, editing));
    expect(await evaluateClaim(compiled, submitted, { cache })).toEqual(await evaluateClaim(compiled, submitted));
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
  });

  it('keys on a fact as soon as a rule of the policy reads it', async () => {
    const readsStatus = compilePolicy(
      withPolicy(compiled.policy, (draft) => {
        draft.deficiencies.push({ code: 'stillEditing', description: 'The claim is still being edited.', when: { all: [{ fact: 'status', operator: 'equal', value: 'editing' }] } });
      }),
    );
    const facts = computeFacts({ fields: claimFields(), poe: [], status: 'editing', asOfDate: '2026-03-02' });
    expect(factsKey(readsStatus, { ...facts, status: 'submitted' })).not.toBe(factsKey(readsStatus, facts));
    const cache = createRuleResultCache(100);
    const editing = withPoe(1);
    const submitted: EvaluationInput = {
      ...editing,
      claim: { ...editing.claim, status: 'submitted', history: [{ at: '2026-03-02T17:00:00Z', to: 'editing' }, { at: '2026-03-02T17:30:00Z', to: 'submitted' }] },
    };
    const first = await evaluateClaim(readsStatus, editing, { cache });
    const second = await evaluateClaim(readsStatus, submitted, { cache });
    expect([cache.hits, cache.misses]).toEqual([0, 2]);
    expect(first.deficiencies.find((d) => d.code === 'stillEditing')?.found).toBe(true);
    expect(second.deficiencies.find((d) => d.code === 'stillEditing')?.found).toBe(false);
    expect(second).toEqual(await evaluateClaim(readsStatus, submitted));
  });
});
