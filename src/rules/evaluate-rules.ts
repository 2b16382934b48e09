/**
 * Evaluates a policy's json-rules-engine conditions (submission requirements, PoE
 * deficiencies, incentive eligibility) against claim facts, and explains each outcome.
 */
import { Engine, Fact } from 'json-rules-engine';
import type { Almanac, RuleProperties, RuleResult, TopLevelCondition } from 'json-rules-engine';
import type { Facts } from './facts';
import type { Condition, Policy } from './policy-types';

/** A rule's condition tree as evaluated: each comparison with the fact value seen and its result. */
export type ConditionExplanation =
  | {
      fact: string;
      operator: string;
      value: unknown;
      factValue: unknown;
      result: boolean;
      /** Present when json-rules-engine skipped this condition (short-circuit); factValue and result were then computed here. */
      shortCircuited?: true;
    }
  | { all: ConditionExplanation[]; result: boolean }
  | { any: ConditionExplanation[]; result: boolean }
  | { not: ConditionExplanation; result: boolean };

/** The verdict of one policy rule, with why. */
export interface RuleOutcome {
  code: string;
  matched: boolean;
  explanation: ConditionExplanation;
  /** one or two sentences a program manager can read: which rule, which condition decided it, the fact value seen */
  summary: string;
}

/** Every rule of a policy evaluated against one claim's facts. */
export interface RuleEvaluation {
  /** Every deficiency with a `when`, in policy order; matched = deficiency found. */
  deficiencies: RuleOutcome[];
  /** matched = requirement holds; passed = all hold. */
  requirements: { passed: boolean; results: Array<RuleOutcome & { message: string }> };
  /** Per incentive program, in policy order; matched = eligible. */
  eligibility: RuleOutcome[];
}

/** A policy's rules, ready to evaluate; safe for concurrent use. */
export interface RuleSet {
  evaluate(facts: Facts): Promise<RuleEvaluation>;
  evaluateRequirements(facts: Facts): Promise<RuleEvaluation['requirements']>;
  evaluateDeficiencies(facts: Facts): Promise<RuleOutcome[]>;
  evaluateEligibility(facts: Facts): Promise<RuleOutcome[]>;
}

type Kind = 'requirement' | 'deficiency' | 'eligibility';

interface RuleSpec {
  kind: Kind;
  code: string;
  /** Position within its kind, in policy order. */
  index: number;
  when: Condition;
  message?: string;
}

interface CompiledSpec extends RuleSpec {
  /** Unique rule name in the engine. */
  name: string;
  /** The `when` was a bare comparison, wrapped in an `all` for the engine. */
  wrapped: boolean;
}

/** Idle engines kept per pool; beyond this, engines built under a burst are dropped after use. */
const MAX_IDLE_ENGINES = 32;

/**
 * Engines of one rule list. An Engine keeps its run status on the instance, so each
 * evaluation borrows an engine of its own and returns it afterwards.
 */
/** Engines a pool builds at most: beyond that, evaluations wait for one (bounded memory under load). */
const MAX_ENGINES = 32;

/**
 * Engines lent out one evaluation at a time (an Engine keeps run status on itself).
 * The uncontended path is synchronous; under load at most MAX_ENGINES exist and
 * further evaluations queue for the next engine returned.
 */
class EnginePool {
  private readonly idle: Engine[];
  private built = 1;
  private readonly waiting: Array<(engine: Engine) => void> = [];

  constructor(private readonly build: () => Engine) {
    this.idle = [build()];
  }

  acquire(): Engine | Promise<Engine> {
    const engine = this.idle.pop();
    if (engine) return engine;
    if (this.built < MAX_ENGINES) {
      this.built += 1;
      return this.build();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(engine: Engine): void {
    const next = this.waiting.shift();
    if (next) next(engine);
    else if (this.idle.length < MAX_IDLE_ENGINES) this.idle.push(engine);
    else this.built -= 1;
  }
}

/** json-rules-engine wants a boolean root; a bare comparison is wrapped (and unwrapped in the explanation). */
function rootCondition(when: Condition): { root: TopLevelCondition; wrapped: boolean } {
  // Cloned: the policy is deeply frozen and json-rules-engine normalises condition priorities in place.
  const copy = structuredClone(when) as Record<string, unknown>;
  if ('all' in copy || 'any' in copy || 'not' in copy) return { root: copy as TopLevelCondition, wrapped: false };
  return { root: { all: [copy as never] }, wrapped: true };
}

function buildEngine(specs: readonly CompiledSpec[]): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const spec of specs) {
    const rule: RuleProperties = {
      name: spec.name,
      // One priority for all: rules run in parallel; outcomes are put in policy order afterwards.
      priority: 1,
      conditions: rootCondition(spec.when).root,
      // No event params: json-rules-engine deep-clones the event on every evaluation.
      event: { type: spec.code },
    };
    engine.addRule(rule);
  }
  return engine;
}

// ---------------------------------------------------------------------------
// Explanations

/** A node of json-rules-engine's evaluated condition tree (RuleResult.conditions). */
interface ResultNode {
  all?: ResultNode[];
  any?: ResultNode[];
  not?: ResultNode;
  fact?: string;
  operator?: string;
  value?: unknown;
  path?: string;
  params?: Record<string, unknown>;
  factResult?: unknown;
  result?: boolean;
}

/** What the engine exposes at runtime but not in its types; used only for conditions it skipped. */
interface EngineInternals {
  operators?: { get(name: string): { evaluate(factValue: unknown, value: unknown): boolean } | null };
}

type Resolved = Map<ResultNode, { factValue: unknown; result: boolean }>;

function collectSkipped(node: ResultNode, into: ResultNode[]): ResultNode[] {
  if (node.all) for (const child of node.all) collectSkipped(child, into);
  else if (node.any) for (const child of node.any) collectSkipped(child, into);
  else if (node.not) collectSkipped(node.not, into);
  else if (typeof node.result !== 'boolean') into.push(node);
  return into;
}

function hasSkipped(node: ResultNode): boolean {
  if (node.all) return node.all.some(hasSkipped);
  if (node.any) return node.any.some(hasSkipped);
  if (node.not) return hasSkipped(node.not);
  return typeof node.result !== 'boolean';
}

/**
 * json-rules-engine short-circuits `all`/`any` across condition priority levels and
 * leaves the skipped conditions without a result. A reader still wants to see every
 * fact, so such a condition gets the fact value from the same almanac and a result from
 * the same engine operator, and is marked `shortCircuited`.
 */
async function resolveSkipped(engine: Engine, almanac: Almanac, skipped: ResultNode[]): Promise<Resolved> {
  const operators = (engine as unknown as EngineInternals).operators;
  const resolved: Resolved = new Map();
  await Promise.all(
    skipped.map(async (node) => {
      const factValue = await almanac.factValue(node.fact ?? '', node.params, node.path);
      const ref = node.value as { fact?: unknown; params?: Record<string, unknown>; path?: string } | null;
      const value =
        ref !== null && typeof ref === 'object' && typeof ref.fact === 'string'
          ? await almanac.factValue(ref.fact, ref.params, ref.path)
          : node.value;
      const operator = operators?.get(node.operator ?? '');
      resolved.set(node, { factValue, result: operator ? operator.evaluate(factValue, value) === true : false });
    }),
  );
  return resolved;
}

function explain(node: ResultNode, resolved: Resolved | undefined): ConditionExplanation {
  if (node.all) {
    const all = node.all.map((child) => explain(child, resolved));
    return { all, result: typeof node.result === 'boolean' ? node.result : all.every((c) => c.result) };
  }
  if (node.any) {
    const any = node.any.map((child) => explain(child, resolved));
    // json-rules-engine holds an empty `any` true, like an empty `all`.
    return {
      any,
      result: typeof node.result === 'boolean' ? node.result : any.length === 0 || any.some((c) => c.result),
    };
  }
  if (node.not) {
    const not = explain(node.not, resolved);
    return { not, result: typeof node.result === 'boolean' ? node.result : !not.result };
  }
  const skipped = resolved?.get(node);
  if (skipped) {
    return {
      fact: node.fact ?? '',
      operator: node.operator ?? '',
      value: node.value,
      factValue: skipped.factValue,
      result: skipped.result,
      shortCircuited: true,
    };
  }
  return {
    fact: node.fact ?? '',
    operator: node.operator ?? '',
    value: node.value,
    factValue: node.factResult,
    result: node.result === true,
  };
}

/**
 * The outcome of one rule: its verdict, and its explanation (from the engine's evaluated tree)
 * and summary, worked out when first read: a decision-only answer never reads them. (Getters
 * on the class, not on each object: per-object accessors cost more than the explanation saved.)
 */
class Outcome implements RuleOutcome {
  readonly code: string;
  readonly matched: boolean;
  readonly #spec: CompiledSpec;
  readonly #ruleResult: RuleResult;
  readonly #resolved: Resolved | undefined;
  #why: { explanation: ConditionExplanation; summary: string } | undefined;

  constructor(spec: CompiledSpec, ruleResult: RuleResult, resolved: Resolved | undefined) {
    this.code = spec.code;
    this.matched = ruleResult.result === true;
    this.#spec = spec;
    this.#ruleResult = ruleResult;
    this.#resolved = resolved;
  }

  #explained(): { explanation: ConditionExplanation; summary: string } {
    if (!this.#why) {
      const root = this.#ruleResult.conditions as unknown as ResultNode;
      const explanation = explain(this.#spec.wrapped && root.all?.[0] ? root.all[0] : root, this.#resolved);
      // The engine records the root's verdict on the rule result, not on the root condition.
      explanation.result = this.matched;
      this.#why = { explanation, summary: summarize(SUBJECTS[this.#spec.kind](this.code, this.matched), explanation) };
    }
    return this.#why;
  }

  get explanation(): ConditionExplanation {
    return this.#explained().explanation;
  }

  get summary(): string {
    return this.#explained().summary;
  }
}

const toOutcome = (spec: CompiledSpec, ruleResult: RuleResult, resolved: Resolved | undefined): RuleOutcome => new Outcome(spec, ruleResult, resolved);

function formatValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Readable text of an explanation: one line per comparison, groups indented below their verdict. */
export function describeCondition(explanation: ConditionExplanation): string {
  return describeLines(explanation, '').join('\n');
}

function describeLines(explanation: ConditionExplanation, indent: string): string[] {
  if ('fact' in explanation) {
    const note = explanation.shortCircuited ? ' (not needed by the engine; computed for this explanation)' : '';
    return [
      `${indent}${explanation.fact} (${formatValue(explanation.factValue)}) ${explanation.operator} ${formatValue(explanation.value)}: ${explanation.result}${note}`,
    ];
  }
  const [word, children] =
    'all' in explanation
      ? ['all', explanation.all]
      : 'any' in explanation
        ? ['any', explanation.any]
        : ['not', [explanation.not]];
  return [
    `${indent}${word}: ${explanation.result}`,
    ...children.flatMap((child) => describeLines(child, `${indent}  `)),
  ];
}

type Leaf = Extract<ConditionExplanation, { fact: string }>;
interface Decisive {
  leaf: Leaf;
  negated: boolean;
}

/**
 * The comparisons that decided a verdict: every one of a holding `all` (or a failing
 * `any`), else the first one that tipped it, preferring conditions the engine evaluated.
 */
function decisive(explanation: ConditionExplanation, negated: boolean, into: Decisive[]): Decisive[] {
  if ('fact' in explanation) {
    into.push({ leaf: explanation, negated });
    return into;
  }
  if ('not' in explanation) return decisive(explanation.not, !negated, into);
  const children = 'all' in explanation ? explanation.all : explanation.any;
  const everyChildDecides = 'all' in explanation ? explanation.result : !explanation.result;
  if (everyChildDecides) {
    for (const child of children) decisive(child, negated, into);
    return into;
  }
  let chosen: ConditionExplanation | undefined;
  for (const child of children) {
    if (child.result !== explanation.result) continue;
    if (!('shortCircuited' in child && child.shortCircuited)) {
      chosen = child;
      break;
    }
    chosen ??= child;
  }
  return chosen ? decisive(chosen, negated, into) : into;
}

function summarize(subject: string, explanation: ConditionExplanation): string {
  const reasons = decisive(explanation, false, []).map(({ leaf, negated }) => {
    const comparison = `${leaf.fact} ${leaf.operator} ${formatValue(leaf.value)}`;
    const verdict = negated ? `not (${comparison}) is ${!leaf.result}` : `${comparison} is ${leaf.result}`;
    return `${verdict} (${leaf.fact} is ${formatValue(leaf.factValue)})`;
  });
  return reasons.length === 0 ? `${subject}: the rule has no conditions.` : `${subject}: ${reasons.join('; ')}.`;
}

const SUBJECTS: Record<Kind, (code: string, matched: boolean) => string> = {
  requirement: (code, matched) => `Requirement ${code} ${matched ? 'met' : 'not met'}`,
  deficiency: (code, matched) => `Deficiency ${code} ${matched ? 'found' : 'not found'}`,
  eligibility: (code, matched) => `${matched ? 'Eligible' : 'Not eligible'} for ${code}`,
};

// ---------------------------------------------------------------------------
// Rule set

type Outcomes = Record<Kind, RuleOutcome[]>;

function compile(spec: RuleSpec): CompiledSpec {
  return { ...spec, name: `${spec.kind}:${spec.index}`, wrapped: rootCondition(spec.when).wrapped };
}

function specsOf(policy: Policy): Record<Kind, CompiledSpec[]> {
  return {
    requirement: policy.submissionRequirements.map((requirement, index) =>
      compile({ kind: 'requirement', code: requirement.code, index, when: requirement.when, message: requirement.message }),
    ),
    deficiency: policy.deficiencies
      .flatMap((deficiency) => (deficiency.when ? [{ code: deficiency.code, when: deficiency.when }] : []))
      .map(({ code, when }, index) => compile({ kind: 'deficiency', code, index, when })),
    eligibility: policy.incentivePrograms.map((program, index) =>
      compile({ kind: 'eligibility', code: program.code, index, when: program.eligibility }),
    ),
  };
}

/** Every name in a `fact` property anywhere in the conditions (a comparison's fact, or a fact its value refers to). */
function collectFactNames(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) collectFactNames(item, into);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'fact' && typeof value === 'string') into.add(value);
      else collectFactNames(value, into);
    }
  }
  return into;
}

/**
 * The facts json-rules-engine can read while running the policy's rules, sorted by name. The
 * engine reads a fact only where a condition names it (`fact`), so every name found anywhere
 * in the rules is kept: a name too many costs a little work, never a different verdict.
 */
export function factsReadBy(policy: Policy): string[] {
  const conditions = [
    ...policy.submissionRequirements.map((r) => r.when),
    ...policy.deficiencies.map((d) => d.when),
    ...policy.incentivePrograms.map((p) => p.eligibility),
  ];
  return [...collectFactNames(conditions, new Set())].sort();
}

/**
 * The facts the rules read, as json-rules-engine Facts that skip its result cache: a constant's
 * value is read from the fact itself, so the cache key the engine would otherwise hash per fact
 * and run (hash-it over the fact's id and params) is never used. Facts no rule reads are not
 * handed over (the engine would only store them).
 */
function constantFacts(facts: Facts, read: readonly string[]): Record<string, Fact> {
  const values = facts as unknown as Record<string, unknown>;
  const wrapped: Record<string, Fact> = {};
  for (const id of read) if (id in values) wrapped[id] = new Fact(id, values[id] as never, { cache: false });
  return wrapped;
}

/** Builds the engines for a policy's rules once; evaluations borrow them from pools. */
export function createRuleSet(policy: Policy): RuleSet {
  const specs = specsOf(policy);
  const everySpec = [...specs.requirement, ...specs.deficiency, ...specs.eligibility];
  const byName = new Map(everySpec.map((spec) => [spec.name, spec]));
  const read = factsReadBy(policy);

  const pools = {
    all: new EnginePool(() => buildEngine(everySpec)),
    requirement: new EnginePool(() => buildEngine(specs.requirement)),
    deficiency: new EnginePool(() => buildEngine(specs.deficiency)),
    eligibility: new EnginePool(() => buildEngine(specs.eligibility)),
  };

  async function run(pool: EnginePool, facts: Facts): Promise<Outcomes> {
    const lent = pool.acquire();
    const engine = lent instanceof Engine ? lent : await lent;
    try {
      const { results, failureResults, almanac } = await engine.run(constantFacts(facts, read));
      const outcomes: Outcomes = {
        requirement: new Array<RuleOutcome>(specs.requirement.length),
        deficiency: new Array<RuleOutcome>(specs.deficiency.length),
        eligibility: new Array<RuleOutcome>(specs.eligibility.length),
      };
      let pending: Array<Promise<void>> | undefined;
      for (const ruleResults of [results, failureResults]) {
        for (const ruleResult of ruleResults) {
          const spec = byName.get(ruleResult.name);
          if (!spec) continue;
          const root = ruleResult.conditions as unknown as ResultNode;
          if (hasSkipped(root)) {
            (pending ??= []).push(
              resolveSkipped(engine, almanac, collectSkipped(root, [])).then((resolved) => {
                outcomes[spec.kind][spec.index] = toOutcome(spec, ruleResult, resolved);
              }),
            );
          } else {
            outcomes[spec.kind][spec.index] = toOutcome(spec, ruleResult, undefined);
          }
        }
      }
      if (pending) await Promise.all(pending);
      return outcomes;
    } finally {
      pool.release(engine);
    }
  }

  function requirementsOf(outcomes: RuleOutcome[]): RuleEvaluation['requirements'] {
    // Assigned, not spread: a spread would work out every explanation now.
    const results = outcomes.map((outcome, index) => Object.assign(outcome, { message: specs.requirement[index]?.message ?? '' }));
    return { passed: results.every((result) => result.matched), results };
  }

  return {
    async evaluate(facts) {
      const outcomes = await run(pools.all, facts);
      return {
        deficiencies: outcomes.deficiency,
        requirements: requirementsOf(outcomes.requirement),
        eligibility: outcomes.eligibility,
      };
    },
    async evaluateRequirements(facts) {
      return requirementsOf((await run(pools.requirement, facts)).requirement);
    },
    async evaluateDeficiencies(facts) {
      return (await run(pools.deficiency, facts)).deficiency;
    },
    async evaluateEligibility(facts) {
      return (await run(pools.eligibility, facts)).eligibility;
    },
  };
}
