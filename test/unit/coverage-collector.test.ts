import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import type { RuleOutcome } from '../../src/rules/evaluate-rules';
import { computeFacts, type FactInput } from '../../src/rules/facts';
import { createCoverageCollector, type PolicyCoverage } from '../../src/simulate/coverage-collector';
import { formatCoverage } from '../../src/simulate/coverage-format';
import { runScenario, type ScenarioResult } from '../../src/simulate/run-scenario';
import { parseScenario } from '../../src/simulate/scenario';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { claimFields, poeDocument } from '../support/factories';

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');

const facts = (overrides: Partial<FactInput> = {}) =>
  computeFacts({ fields: claimFields(), poe: [poeDocument()], status: 'editing', asOfDate: '2026-03-02', ...overrides });

async function runBundled(file: string, compiled: CompiledPolicy): Promise<ScenarioResult> {
  const parsed = parseScenario(readFileSync(join(SCENARIOS, file), 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.error);
  return runScenario(parsed.scenario, { file, policy: compiled });
}

const only = (report: { policies: PolicyCoverage[] }) => {
  expect(report.policies).toHaveLength(1);
  return report.policies[0]!;
};

const rule = (coverage: PolicyCoverage, code: string) => coverage.rules.find((r) => r.code === code)!;

describe('rule and condition coverage', () => {
  it('counts each rule and each condition true or false as json-rules-engine evaluated it', async () => {
    const collector = createCoverageCollector();
    const observed = collector.observePolicy(await compiledBundledPolicy());
    // A signed, dated, described document: missingCustomerAcknowledgment is not found.
    await observed.rules.evaluateDeficiencies(facts());
    // An unsigned one: found.
    await observed.rules.evaluateDeficiencies(facts({ poe: [poeDocument({ customerSigned: false })] }));
    const coverage = only(collector.report());
    const acknowledgment = rule(coverage, 'missingCustomerAcknowledgment');
    expect(acknowledgment).toMatchObject({ section: 'deficiencies', path: '$.deficiencies[1].when', true: 1, false: 1 });
    expect(acknowledgment.conditions).toEqual([
      { path: '$.deficiencies[1].when.all[0]', text: 'poeCount greaterThan 0', true: 2, false: 0 },
      { path: '$.deficiencies[1].when.all[1]', text: 'signedPoeCount equal 0', true: 1, false: 1 },
    ]);
    // Rules never evaluated (requirements, eligibility) are listed with nothing covered.
    expect(rule(coverage, 'poeRequired')).toMatchObject({ true: 0, false: 0 });
    expect(rule(coverage, 'OSU').conditions.every((c) => c.true === 0 && c.false === 0)).toBe(true);
  });

  it('lists nested groups as conditions of their own, below the rule', async () => {
    const collector = createCoverageCollector();
    const observed = collector.observePolicy(await compiledBundledPolicy());
    await observed.rules.evaluate(facts({ poe: [poeDocument({ signedOn: undefined })] }));
    const oldDates = rule(only(collector.report()), 'missingOrOldDates');
    expect(oldDates.true).toBe(1);
    expect(oldDates.conditions.map((c) => [c.path.replace(oldDates.path, ''), c.text, c.true, c.false])).toEqual([
      ['.all[0]', 'poeCount greaterThan 0', 1, 0],
      ['.all[1]', 'any', 1, 0],
      ['.all[1].any[0]', 'datedPoeCount equal 0', 1, 0],
      ['.all[1].any[1]', 'newestPoeAgeDays greaterThan 365', 0, 1],
    ]);
  });

  it('does not count a comparison the engine skipped (short-circuited), nor a group of skipped ones', async () => {
    const compiled = await compiledBundledPolicy();
    const outcome: RuleOutcome = {
      code: 'missingOrOldDates',
      matched: false,
      summary: '',
      explanation: {
        all: [
          { fact: 'poeCount', operator: 'greaterThan', value: 0, factValue: 0, result: false },
          {
            any: [
              { fact: 'datedPoeCount', operator: 'equal', value: 0, factValue: 0, result: true, shortCircuited: true },
              { fact: 'newestPoeAgeDays', operator: 'greaterThan', value: 365, factValue: null, result: false, shortCircuited: true },
            ],
            result: true,
          },
        ],
        result: false,
      },
    };
    const fake: CompiledPolicy = { ...compiled, rules: { ...compiled.rules, evaluateDeficiencies: async () => [outcome] } };
    const collector = createCoverageCollector();
    await collector.observePolicy(fake).rules.evaluateDeficiencies(facts());
    const oldDates = rule(only(collector.report()), 'missingOrOldDates');
    expect(oldDates).toMatchObject({ true: 0, false: 1 });
    expect(oldDates.conditions.map((c) => [c.true, c.false])).toEqual([
      [0, 1],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
  });

  it('records outcomes once per compiled policy however often it is observed', async () => {
    const collector = createCoverageCollector();
    const compiled = await compiledBundledPolicy();
    expect(collector.observePolicy(compiled)).toBe(collector.observePolicy(compiled));
    const source = collector.observeSource({ current: () => compiled, get: () => compiled });
    expect(source.current(new Date(0))).toBe(collector.observePolicy(compiled));
    await source.current(new Date(0)).rules.evaluateDeficiencies(facts());
    expect(rule(only(collector.report()), 'missingAllPoe')).toMatchObject({ true: 0, false: 1 });
  });
});

describe('deadline and refusal coverage', () => {
  it('counts a deadline paused while the partner was asked for information, and each run met or fired', async () => {
    const collector = createCoverageCollector();
    const compiled = collector.observePolicy(await compiledBundledPolicy());
    collector.addScenario(await runBundled('timeline-decision-target-paused.yaml', compiled));
    collector.addScenario(await runBundled('partner-never-answers.yaml', compiled));
    const deadlines = Object.fromEntries(only(collector.report()).deadlines.map((d) => [d.name, d]));
    expect(deadlines.decisionTarget).toEqual({ name: 'decisionTarget', fired: 0, met: 2, paused: 2 });
    expect(deadlines.partnerResponse).toEqual({ name: 'partnerResponse', fired: 1, met: 1, paused: null });
    expect(deadlines.disputeResponse).toEqual({ name: 'disputeResponse', fired: 0, met: 0, paused: null });
  });

  it('counts refusals by code, and leaves out those no scenario can produce under the policy', async () => {
    const base = await compiledBundledPolicy();
    const noLimit = compilePolicy(withPolicy(base.policy, (p) => delete p.limits));
    const collector = createCoverageCollector();
    collector.addScenario(await runBundled('partner-never-answers.yaml', collector.observePolicy(noLimit)));
    const refusals = Object.fromEntries(only(collector.report()).refusals.map((r) => [r.code, r]));
    expect(refusals.fieldNotEditable).toEqual({ code: 'fieldNotEditable', occurred: 1, reachable: true });
    expect(refusals.invalidState).toEqual({ code: 'invalidState', occurred: 0, reachable: true });
    expect(refusals.poeLimitReached).toMatchObject({ reachable: false, note: expect.stringContaining('poeDocumentsPerClaim') });
    expect(refusals.unknownEvent).toMatchObject({ reachable: false });
  });
});

describe('coverage summary', () => {
  it('adds two outcomes per rule and condition, two or three per deadline and one per reachable refusal, rounding down', async () => {
    const collector = createCoverageCollector();
    const compiled = collector.observePolicy(await compiledBundledPolicy());
    collector.addScenario(await runBundled('partner-never-answers.yaml', compiled));
    const { summary } = only(collector.report());
    // 2 requirements, 5 deficiencies (each with a `when`), 2 programs; 17 conditions below them.
    expect(summary.rules.total).toBe(2 * 9);
    expect(summary.conditions.total).toBe(2 * 17);
    expect(summary.deadlines.total).toBe(2 * 7 + 1);
    expect(summary.refusals.total).toBe(14);
    expect(summary.total).toBe(summary.rules.total + summary.conditions.total + summary.deadlines.total + summary.refusals.total);
    expect(summary.percent).toBe(Math.floor((1000 * summary.covered) / summary.total) / 10);
    expect(summary.percent).toBeLessThan(100);
  });

  it('reads 100% only when every outcome is covered, and names what is missing', async () => {
    const collector = createCoverageCollector();
    const compiled = collector.observePolicy(await compiledBundledPolicy());
    collector.addScenario(await runBundled('partner-never-answers.yaml', compiled));
    const text = formatCoverage(collector.report());
    expect(text).toMatch(/^Coverage of policy cpor 2026\.1 \(1 scenario\): \d+(\.\d)?% \(\d+\/\d+\)$/m);
    expect(text).toContain('  not covered:');
    expect(text).toContain('    - deadline disputeWindow never fired');
    expect(text).toContain('    - $.incentivePrograms[0].eligibility (OSU) never true');
    expect(text).toContain('    - refusal poeLimitReached never occurred');
  });
});
