/**
 * Rule coverage of scenario runs: which rules and conditions the scenarios made true and
 * false (as json-rules-engine evaluated them), which deadlines fired, were met and were
 * paused, and which refusals occurred — per policy version the scenarios ran under.
 */
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { PolicySource } from '../policies/policy-source';
import type { ConditionExplanation, RuleOutcome, RuleSet } from '../rules/evaluate-rules';
import type { Condition, Policy } from '../rules/policy-types';
import { deadlineRuns } from './deadline-runs';
import type { ScenarioResult } from './run-scenario';
import { refusalKinds } from './coverage-refusals';

/** The three sections of a policy whose conditions json-rules-engine evaluates. */
export type RuleSection = 'submissionRequirements' | 'deficiencies' | 'incentivePrograms';

export interface ConditionCoverage {
  /** JSONPath of the condition in the policy file. */
  path: string;
  /** `fact operator value`, or `all` / `any` / `not` for a group. */
  text: string;
  /** How many evaluations the engine found it true, and false. */
  true: number;
  false: number;
}

export interface RuleCoverage {
  section: RuleSection;
  code: string;
  /** JSONPath of the rule's condition (`when` or `eligibility`). */
  path: string;
  /** Evaluations that matched (requirement met, deficiency found, eligible), and that did not. */
  true: number;
  false: number;
  conditions: ConditionCoverage[];
}

export interface DeadlineCoverage {
  name: string;
  /** Runs that fired, were met, and were paused at least once; `paused` null when the deadline has no `pausedIn`. */
  fired: number;
  met: number;
  paused: number | null;
}

export interface RefusalCoverage {
  code: string;
  /** Steps refused with this code. */
  occurred: number;
  /** False when no scenario can produce it under this policy (`note` says why): it does not count. */
  reachable: boolean;
  note?: string;
}

export interface CoverageCount {
  covered: number;
  total: number;
}

export interface CoverageSummary extends CoverageCount {
  /** covered / total in percent, rounded down to one decimal (100 only when all is covered); 100 when there is nothing to cover. */
  percent: number;
}

export interface PolicyCoverage {
  policy: { id: string; version: string };
  /** Scenario files that ran under this version. */
  scenarios: number;
  rules: RuleCoverage[];
  deadlines: DeadlineCoverage[];
  refusals: RefusalCoverage[];
  /** Outcomes covered: two per rule and per condition (true, false), two or three per deadline (fired, met, paused), one per reachable refusal. */
  summary: CoverageSummary & { rules: CoverageCount; conditions: CoverageCount; deadlines: CoverageCount; refusals: CoverageCount };
}

export interface CoverageReport {
  policies: PolicyCoverage[];
  summary: CoverageSummary;
}

export interface CoverageCollector {
  /** The policy, with its rules recording each outcome json-rules-engine reaches. */
  observePolicy(compiled: CompiledPolicy): CompiledPolicy;
  /** A policy source whose versions record their outcomes (see observePolicy). */
  observeSource(source: PolicySource): PolicySource;
  /** Adds a finished scenario's deadline runs and refusals (under the version its claim followed). */
  addScenario(result: ScenarioResult): void;
  report(): CoverageReport;
}

interface Tally {
  true: number;
  false: number;
}

interface PolicyTally {
  policy: Policy;
  scenarios: number;
  /** By JSONPath: rules and conditions alike. */
  outcomes: Map<string, Tally>;
  deadlines: Map<string, { fired: number; met: number; paused: number }>;
  refusals: Map<string, number>;
}

const keyOf = (ref: { id: string; version: string }) => `${ref.id}\u0000${ref.version}`;

const SECTIONS: Record<RuleSection, (policy: Policy) => Array<{ code: string; when?: Condition; path: string }>> = {
  submissionRequirements: (p) => p.submissionRequirements.map((r, i) => ({ code: r.code, when: r.when, path: `$.submissionRequirements[${i}].when` })),
  deficiencies: (p) => p.deficiencies.map((d, i) => ({ code: d.code, when: d.when, path: `$.deficiencies[${i}].when` })),
  incentivePrograms: (p) => p.incentivePrograms.map((r, i) => ({ code: r.code, when: r.eligibility, path: `$.incentivePrograms[${i}].eligibility` })),
};

export function createCoverageCollector(): CoverageCollector {
  const tallies = new Map<string, PolicyTally>();
  const observed = new WeakMap<CompiledPolicy, CompiledPolicy>();

  const tallyOf = (policy: Policy): PolicyTally => {
    const key = keyOf(policy);
    let tally = tallies.get(key);
    if (!tally) {
      tally = { policy, scenarios: 0, outcomes: new Map(), deadlines: new Map(), refusals: new Map() };
      tallies.set(key, tally);
    }
    return tally;
  };

  const count = (tally: PolicyTally, path: string, result: boolean) => {
    let t = tally.outcomes.get(path);
    if (!t) tally.outcomes.set(path, (t = { true: 0, false: 0 }));
    t[result ? 'true' : 'false'] += 1;
  };

  const recordOutcomes = (policy: Policy, section: RuleSection, outcomes: readonly RuleOutcome[]) => {
    const tally = tallyOf(policy);
    const rules = SECTIONS[section](policy);
    for (const outcome of outcomes) {
      const rule = rules.find((r) => r.code === outcome.code && r.when);
      if (!rule) continue;
      count(tally, rule.path, outcome.matched);
      recordConditions(outcome.explanation, rule.path, true, (path, result) => count(tally, path, result));
    }
  };

  const observePolicy = (compiled: CompiledPolicy): CompiledPolicy => {
    const known = observed.get(compiled);
    if (known) return known;
    const { policy, rules } = compiled;
    tallyOf(policy);
    const recording: RuleSet = {
      async evaluate(facts) {
        const evaluation = await rules.evaluate(facts);
        recordOutcomes(policy, 'submissionRequirements', evaluation.requirements.results);
        recordOutcomes(policy, 'deficiencies', evaluation.deficiencies);
        recordOutcomes(policy, 'incentivePrograms', evaluation.eligibility);
        return evaluation;
      },
      async evaluateRequirements(facts) {
        const requirements = await rules.evaluateRequirements(facts);
        recordOutcomes(policy, 'submissionRequirements', requirements.results);
        return requirements;
      },
      async evaluateDeficiencies(facts) {
        const deficiencies = await rules.evaluateDeficiencies(facts);
        recordOutcomes(policy, 'deficiencies', deficiencies);
        return deficiencies;
      },
      async evaluateEligibility(facts) {
        const eligibility = await rules.evaluateEligibility(facts);
        recordOutcomes(policy, 'incentivePrograms', eligibility);
        return eligibility;
      },
    };
    const wrapped: CompiledPolicy = { ...compiled, rules: recording };
    observed.set(compiled, wrapped);
    return wrapped;
  };

  return {
    observePolicy,
    observeSource(source) {
      return {
        current: (at) => observePolicy(source.current(at)),
        get: (ref) => {
          const found = source.get(ref);
          return found && observePolicy(found);
        },
      };
    },
    addScenario(result) {
      const tally = tallies.get(keyOf(result.policy));
      if (!tally) return;
      tally.scenarios += 1;
      for (const run of deadlineRuns(result, tally.policy.deadlines)) {
        let t = tally.deadlines.get(run.name);
        if (!t) tally.deadlines.set(run.name, (t = { fired: 0, met: 0, paused: 0 }));
        if (run.outcome === 'fired') t.fired += 1;
        if (run.outcome === 'met') t.met += 1;
        if (run.pauses.length > 0) t.paused += 1;
      }
      for (const entry of result.timeline) {
        if (entry.refused) tally.refusals.set(entry.refused.code, (tally.refusals.get(entry.refused.code) ?? 0) + 1);
      }
    },
    report() {
      const policies = [...tallies.values()]
        .sort((a, b) => keyOf(a.policy).localeCompare(keyOf(b.policy)))
        .map(policyCoverage);
      return { policies, summary: summarize(policies.map((p) => p.summary)) };
    },
  };
}

/**
 * Walks the engine's evaluated tree beside the policy's paths. A comparison the engine skipped
 * (json-rules-engine short-circuits across condition priorities) counts for neither outcome,
 * and neither does a group whose comparisons were all skipped. Returns whether the engine evaluated the node.
 */
function recordConditions(
  node: ConditionExplanation,
  path: string,
  root: boolean,
  record: (path: string, result: boolean) => void,
): boolean {
  if ('fact' in node) {
    if (node.shortCircuited) return false;
    record(path, node.result);
    return true;
  }
  const children: Array<[ConditionExplanation, string]> =
    'all' in node
      ? node.all.map((c, i) => [c, `${path}.all[${i}]`])
      : 'any' in node
        ? node.any.map((c, i) => [c, `${path}.any[${i}]`])
        : [[node.not, `${path}.not`]];
  let evaluated = false;
  for (const [child, childPath] of children) evaluated = recordConditions(child, childPath, false, record) || evaluated;
  if (evaluated && !root) record(path, node.result);
  return evaluated;
}

/** Every condition of a rule, in document order: comparisons, and groups below the rule's own. */
function conditionsOf(when: Condition, path: string, root: boolean): Array<{ path: string; text: string }> {
  if ('fact' in when) {
    return [{ path, text: `${when.fact}${when.path ? ` ${when.path}` : ''} ${when.operator} ${JSON.stringify(when.value)}` }];
  }
  const [word, children] =
    'all' in when
      ? (['all', when.all.map((c, i) => [c, `${path}.all[${i}]`])] as const)
      : 'any' in when
        ? (['any', when.any.map((c, i) => [c, `${path}.any[${i}]`])] as const)
        : (['not', [[when.not, `${path}.not`]]] as const);
  return [...(root ? [] : [{ path, text: word }]), ...children.flatMap(([c, p]) => conditionsOf(c as Condition, p as string, false))];
}

function policyCoverage(tally: PolicyTally): PolicyCoverage {
  const { policy } = tally;
  const outcome = (path: string): Tally => ({ ...(tally.outcomes.get(path) ?? { true: 0, false: 0 }) });
  const rules: RuleCoverage[] = (Object.keys(SECTIONS) as RuleSection[]).flatMap((section) =>
    SECTIONS[section](policy).flatMap(({ code, when, path }) =>
      when
        ? [{ section, code, path, ...outcome(path), conditions: conditionsOf(when, path, true).map((c) => ({ ...c, ...outcome(c.path) })) }]
        : [],
    ),
  );
  const deadlines: DeadlineCoverage[] = Object.entries(policy.deadlines).map(([name, spec]) => {
    const t = tally.deadlines.get(name) ?? { fired: 0, met: 0, paused: 0 };
    return { name, fired: t.fired, met: t.met, paused: spec.pausedIn?.length ? t.paused : null };
  });
  const kinds = refusalKinds(policy);
  const refusals: RefusalCoverage[] = [
    ...kinds.map(({ code, unreachable }) => ({
      code,
      occurred: tally.refusals.get(code) ?? 0,
      reachable: unreachable === undefined,
      ...(unreachable === undefined ? {} : { note: unreachable }),
    })),
    // A refusal outside the catalogue still happened: shown, and counted as covered.
    ...[...tally.refusals]
      .filter(([code]) => !kinds.some((k) => k.code === code))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, occurred]) => ({ code, occurred, reachable: true })),
  ];
  const both = (t: Tally) => Number(t.true > 0) + Number(t.false > 0);
  const sections = {
    rules: { covered: sum(rules.map(both)), total: 2 * rules.length },
    conditions: {
      covered: sum(rules.flatMap((r) => r.conditions.map(both))),
      total: 2 * sum(rules.map((r) => r.conditions.length)),
    },
    deadlines: {
      covered: sum(deadlines.map((d) => Number(d.fired > 0) + Number(d.met > 0) + Number((d.paused ?? 0) > 0))),
      total: sum(deadlines.map((d) => (d.paused === null ? 2 : 3))),
    },
    refusals: {
      covered: refusals.filter((r) => r.reachable && r.occurred > 0).length,
      total: refusals.filter((r) => r.reachable).length,
    },
  };
  return {
    policy: { id: policy.id, version: policy.version },
    scenarios: tally.scenarios,
    rules,
    deadlines,
    refusals,
    summary: { ...summarize(Object.values(sections)), ...sections },
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function summarize(counts: CoverageCount[]): CoverageSummary {
  const covered = sum(counts.map((c) => c.covered));
  const total = sum(counts.map((c) => c.total));
  // Rounded down: 99.96% must not read as 100%.
  return { covered, total, percent: total === 0 ? 100 : Math.floor((1000 * covered) / total) / 10 };
}
