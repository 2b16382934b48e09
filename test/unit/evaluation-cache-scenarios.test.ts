/**
 * The rule-result cache over the scenarios' claims: at every state change of every scenario in
 * scenarios/ (the claim as it stood: fields, PoE uploaded so far, status, history), and a few
 * days later, the cached evaluation (first a miss, then a hit) answers exactly as the uncached
 * one, refusals included; the decision-only answer is the full one without explanations.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateClaim, type ClaimEvaluation, type EvaluationInput } from '../../src/evaluation/evaluate-claim';
import { createRuleResultCache } from '../../src/evaluation/rule-result-cache';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { loadCompiledPolicy, resolvePolicyPath } from '../../src/simulate/policy-files';
import { runScenario } from '../../src/simulate/run-scenario';
import { loadScenarioFile, type Scenario } from '../../src/simulate/scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');
const DAY = 86_400_000;

let bundled: CompiledPolicy;
beforeAll(async () => {
  bundled = await compiledBundledPolicy();
});

/** The claim at each state change of the scenario's run, evaluated then and 3 days later. */
async function inputsOf(scenario: Scenario, file: string, policy: CompiledPolicy): Promise<EvaluationInput[]> {
  const run = await runScenario(scenario, { file, policy });
  const changes = run.timeline.filter((e) => !e.refused && e.to !== null && e.from !== e.to);
  const uploads = scenario.steps.filter((s) => 'do' in s && s.do === 'uploadPoe');
  const inputs: EvaluationInput[] = [];
  changes.forEach((entry, i) => {
    const [status, substatus] = entry.to!.split('.') as [string, string | undefined];
    // A history lists changes of status; approved's substatus moves are not among them.
    const history = changes
      .slice(0, i + 1)
      .filter((e) => !(e.from?.startsWith('approved') && e.to!.startsWith('approved')))
      .map((e) => ({ at: e.at, to: e.to!.split('.')[0]! }));
    const poe = uploads.filter((s) => 'at' in s && Date.parse(s.at) <= Date.parse(entry.at)).map((s) => (s as { with: object }).with);
    for (const later of [0, 3 * DAY]) {
      inputs.push({
        claim: { id: `${file}#${i}`, fields: scenario.claim ?? {}, status, ...(substatus ? { substatus } : {}), poe, history },
        asOf: new Date(Date.parse(entry.at) + later).toISOString(),
      } as EvaluationInput);
    }
  });
  return inputs;
}

/** The answer, or the refusal it throws. */
async function outcome(evaluate: () => Promise<ClaimEvaluation>): Promise<unknown> {
  try {
    return await evaluate();
  } catch (error) {
    return { refused: error };
  }
}

describe('the rule-result cache over the scenarios', () => {
  it('answers exactly as the uncached evaluation at every state change of every scenario, cold and cached', async () => {
    const cache = createRuleResultCache(10_000);
    let compared = 0;
    let answered = 0;
    for (const name of readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort()) {
      const file = join(SCENARIOS, name);
      const loaded = await loadScenarioFile(file);
      if (!loaded.ok) throw new Error(loaded.error);
      const policy = loaded.scenario.policy ? await loadCompiledPolicy(resolvePolicyPath(loaded.scenario.policy, file)) : bundled;
      for (const input of await inputsOf(loaded.scenario, file, policy)) {
        const cold = await outcome(() => evaluateClaim(policy, input));
        expect(await outcome(() => evaluateClaim(policy, input, { cache })), `${input.claim.id} at ${input.asOf}`).toEqual(cold);
        expect(await outcome(() => evaluateClaim(policy, input, { cache }))).toEqual(cold);
        compared += 1;
        if (!('refused' in (cold as object))) answered += 1;
      }
    }
    // Every scenario took part, and most states were answered (not refused as inconsistent input).
    expect(compared).toBeGreaterThan(200);
    expect(answered / compared).toBeGreaterThan(0.9);
    expect(cache.hits).toBeGreaterThanOrEqual(compared);
  });

  it('gives the decision-only answer as the full one without explanations and summaries, cached or not', async () => {
    const cache = createRuleResultCache(10_000);
    const strip = (evaluation: ClaimEvaluation) => ({
      ...evaluation,
      deficiencies: evaluation.deficiencies.map(({ explanation: _e, summary: _s, ...rest }) => rest),
      submissionRequirements: {
        passed: evaluation.submissionRequirements.passed,
        results: evaluation.submissionRequirements.results.map(({ explanation: _e, summary: _s, ...rest }) => rest),
      },
      eligibility: evaluation.eligibility.map(({ explanation: _e, summary: _s, ...rest }) => rest),
    });
    const file = join(SCENARIOS, 'dispute-approved.yaml');
    const loaded = await loadScenarioFile(file);
    if (!loaded.ok) throw new Error(loaded.error);
    for (const input of await inputsOf(loaded.scenario, file, bundled)) {
      const full = await evaluateClaim(bundled, input);
      expect(await evaluateClaim(bundled, input, { explain: false })).toEqual(strip(full));
      expect(await evaluateClaim(bundled, input, { cache, explain: false })).toEqual(strip(full));
      // A cached rule result read decision-only first still explains itself when asked.
      expect(await evaluateClaim(bundled, input, { cache })).toEqual(full);
    }
  });
});
