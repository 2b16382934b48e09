/**
 * Runs a scenario on a virtual clock through the same claim service the API
 * uses, over an in-memory store.
 */
import { DomainError } from '../domain/errors';
import { SYSTEM_ROLE } from '../rules/policy-types';
import type { Actor } from '../domain/claim-types';
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import { createClaimService, type IdSource } from '../claims/claim-service';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { singlePolicySource, type PolicySource } from '../policies/policy-source';
import { createMemoryClaimStore } from '../claims/memory-claim-store';
import type { OutcomeExpectation, Scenario, ScenarioActor } from './scenario';

export interface TimelineEntry {
  at: string;
  by: string;
  event: string;
  from: string | null;
  to: string | null;
  refused?: { code: string; message: string };
}

export interface ScenarioResult {
  name: string;
  file: string;
  policy: { id: string; version: string };
  passed: boolean | null;
  failures: string[];
  final: { status: string | null; substatus: string | null; reason: string | null; overdue: string[] };
  timeline: TimelineEntry[];
  deadlines: Array<{ name: string; startedAt: string; due: string; outcome: 'fired' | 'met' | 'pending' }>;
}

/** A clock the runner moves by hand. */
export function createVirtualClock(start: Date) {
  let current = start;
  return {
    now: () => current,
    set(to: Date) {
      current = to;
    },
  };
}

/** Sequential ids (claim-1, poe-1, …): simulations are deterministic. */
export function createSequentialIds(): IdSource {
  const counters = new Map<string, number>();
  return {
    next(kind) {
      const n = (counters.get(kind) ?? 0) + 1;
      counters.set(kind, n);
      return `${kind}-${n}`;
    },
  };
}

const iso = (value: string) => new Date(value).toISOString();
const refOf = (policy: { id: string; version: string }) => ({ id: policy.id, version: policy.version });

export async function runScenario(
  scenario: Scenario,
  /** One policy, or the versions a claim follows over time (the one in effect until submission pins it). */
  options: { file: string; policy: CompiledPolicy } | { file: string; policies: PolicySource },
): Promise<ScenarioResult> {
  const policies = 'policies' in options ? options.policies : singlePolicySource(options.policy);
  const failures: string[] = [];
  const timeline: TimelineEntry[] = [];
  const firstStep = scenario.steps[0]!;
  const clock = createVirtualClock(new Date('at' in firstStep ? firstStep.at : firstStep.until));
  const service = createClaimService({
    store: createMemoryClaimStore(),
    policies,
    clock,
    ids: createSequentialIds(),
  });
  const claimFields = scenario.claim ?? {};
  let claim: ClaimRecord | undefined;

  const record = (entries: HistoryEntry[]) => {
    for (const e of entries) {
      timeline.push({ at: e.at, by: e.actor.role, event: e.event, from: e.from === 'new' ? null : e.from, to: e.to });
    }
  };
  const advance = async (to: Date) => {
    if (claim) {
      record(await service.fireDue(to));
      claim = await service.getClaim(claim.id);
    }
    clock.set(to);
  };

  let previous = -Infinity;
  for (const [index, step] of scenario.steps.entries()) {
    const label = `step ${index + 1} (line ${step.line})`;
    const at = new Date('at' in step ? step.at : step.until);
    if (at.getTime() < previous) {
      failures.push(`${label}: ${'at' in step ? 'at' : 'until'} ${iso(at.toISOString())} goes back in time`);
      break;
    }
    previous = at.getTime();
    try {
      await advance(at);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      failures.push(`${label}: ${outOfRange(error)}`);
      break;
    }
    if (!('at' in step)) {
      if (step.expect) checkOutcome(claim, step.expect, `${label}`, failures);
      continue;
    }
    const actor = actorOf(step.by, claim?.snapshot.context.fields ?? claimFields, policies.current(at).policy.roles);
    const payload = step.do === 'create' ? { ...claimFields, ...(step.with ?? {}) } : (step.with ?? {});
    const expectRefusal = step.expect?.refused;
    try {
      if (step.do !== 'create' && !claim) throw new DomainError('conflict', 'invalidState', 'No claim yet: the first action must be create.');
      // A scenario follows one claim: a second create would leave the first one's deadlines running unseen.
      if (step.do === 'create' && claim) {
        throw new DomainError('conflict', 'invalidState', `The scenario's claim exists already (${claim.id}): a scenario creates its claim once.`);
      }
      if (actor.role === SYSTEM_ROLE) {
        throw new DomainError('notAllowed', 'forbiddenRole', 'A step cannot act as system: system acts only through deadlines.');
      }
      const result =
        step.do === 'create' ? await service.create(actor, payload) : await service.act(claim!.id, step.do, actor, payload);
      claim = result.claim;
      record(result.entries);
      if (expectRefusal !== undefined && expectRefusal !== false) {
        failures.push(`${label}: expected ${step.do} by ${actor.role} to be refused${typeof expectRefusal === 'string' ? ` with ${expectRefusal}` : ''}, but it was applied`);
      }
    } catch (error) {
      if (error instanceof RangeError) {
        failures.push(`${label}: ${step.do} by ${actor.role}: ${outOfRange(error)}`);
        break;
      }
      if (!(error instanceof DomainError)) throw error;
      if (claim) claim = await service.getClaim(claim.id);
      const state = claim?.state ?? null;
      timeline.push({
        at: iso(step.at),
        by: actor.role,
        event: step.do,
        from: state,
        to: state,
        refused: { code: error.code, message: error.message },
      });
      if (expectRefusal === undefined || expectRefusal === false) {
        failures.push(`${label}: ${step.do} by ${actor.role} was refused: ${error.code}: ${error.message}`);
      } else if (typeof expectRefusal === 'string' && expectRefusal !== error.code) {
        failures.push(`${label}: expected refusal ${expectRefusal}, got ${error.code}: ${error.message}`);
      }
    }
    if (step.expect) checkOutcome(claim, step.expect, label, failures);
  }
  if (scenario.expect) checkOutcome(claim, scenario.expect, 'expect', failures);

  return {
    name: scenario.name,
    file: options.file,
    // The version the claim follows at the end (or the one in effect at the start, without a claim).
    policy: claim?.policy ?? refOf(policies.current(new Date('at' in firstStep ? firstStep.at : firstStep.until)).policy),
    passed: scenario.expect || scenario.steps.some((s) => s.expect) ? failures.length === 0 : failures.length === 0 ? null : false,
    failures,
    final: {
      status: claim?.status ?? null,
      substatus: claim?.substatus ?? null,
      reason: claim?.reason ?? null,
      overdue: claim?.overdue ?? [],
    },
    timeline,
    deadlines: (claim?.deadlines ?? []).map((d) => ({
      name: d.name,
      startedAt: d.startedAt,
      due: d.dueAt,
      outcome: d.status === 'fired' || d.status === 'met' ? d.status : 'pending',
    })),
  };
}

/** A deadline or date the calendar cannot compute (past the year 9999): the scenario stops there. */
const outOfRange = (error: RangeError) =>
  `a date falls outside the years deadlines can be computed in (${error.message}); the scenario stops here`;

/** A scenario's `by`: a role name, or an actor; partner roles default to the claim's partner, customers to its tenant. */
function actorOf(
  by: ScenarioActor,
  fields: Record<string, unknown> | ClaimRecord['snapshot']['context']['fields'],
  roles: Record<string, { kind: string }>,
): Actor {
  const actor: Actor = typeof by === 'string' ? { role: by } : { ...by };
  const kind = roles[actor.role]?.kind;
  const f = fields as { partnerId?: string; customer?: { tenantId?: string } };
  if (kind === 'partner' && actor.partnerId === undefined && f.partnerId !== undefined) actor.partnerId = f.partnerId;
  if (kind === 'customer' && actor.tenantId === undefined && f.customer?.tenantId !== undefined) {
    actor.tenantId = f.customer.tenantId;
  }
  return actor;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

function checkOutcome(claim: ClaimRecord | undefined, expect: OutcomeExpectation, label: string, failures: string[]) {
  const fail = (what: string, want: unknown, got: unknown) =>
    failures.push(`${label}: expected ${what} ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  if (expect.status !== undefined && claim?.status !== expect.status) fail('status', expect.status, claim?.status ?? null);
  if (expect.substatus !== undefined && (claim?.substatus ?? null) !== expect.substatus) {
    fail('substatus', expect.substatus, claim?.substatus ?? null);
  }
  if (expect.reason !== undefined && (claim?.reason ?? null) !== expect.reason) fail('reason', expect.reason, claim?.reason ?? null);
  if (expect.overdue !== undefined && !sameSet(claim?.overdue ?? [], expect.overdue)) {
    fail('overdue', expect.overdue, claim?.overdue ?? []);
  }
  if (expect.deficiencies !== undefined && !sameSet(claim?.deficiencies ?? [], expect.deficiencies)) {
    fail('deficiencies', expect.deficiencies, claim?.deficiencies ?? []);
  }
  if (expect.eligible !== undefined) {
    const eligible = (claim?.assessment?.programs ?? []).filter((p) => p.eligible).map((p) => p.code);
    if (!sameSet(eligible, expect.eligible)) fail('eligible programs', expect.eligible, eligible);
  }
  for (const [name, outcome] of Object.entries(expect.deadlines ?? {})) {
    const runs = (claim?.deadlines ?? []).filter((d) => d.name === name);
    const last = runs[runs.length - 1];
    const got = !last ? 'never started' : last.status === 'fired' || last.status === 'met' ? last.status : 'pending';
    if (got !== outcome) fail(`deadline ${name}`, outcome, got);
  }
}
