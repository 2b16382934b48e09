/**
 * The claim service: load → fire due deadlines → machine → rules → deadlines → save,
 * in one transaction per call. Simulation, the API and backtests all run it; only
 * the clock and the store differ. Every event applied or refused, and every deadline
 * fired, leaves a decision-log record in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, type DomainError, InputError, NotAllowedError, NotFoundError } from '../domain/errors';
import { initialSnapshot, stepClaim, type ClaimSnapshot } from '../machines/claim-machine';
import type { Actor, ClaimEvent, EventMeta, EventType } from '../machines/claim-types';
import type { LeafState } from '../machines/claim-transitions';
import type { Refusal } from '../machines/guards';
import { computeFacts, type Facts } from '../rules/facts';
import { SYSTEM_ROLE } from '../rules/policy-types';
import { statusOf, type ClaimRecord, type HistoryEntry } from './claim-record';
import type { ClaimStore, ClaimStoreTx } from './claim-store';
import type { CompiledPolicy } from './compiled-policy';
import { describeConflicts, inStates, type ConflictReport } from './conflicts';
import { digestInput, type DecisionRecord } from './decision-digest';
import { singlePolicySource, type PolicySource } from './policy-source';
import { sealEntry } from './history-chain';
import { outboxMessageFor } from './outbox';
import {
  closedEvents,
  dueDeadlines,
  nextDueAt,
  overdueNames,
  trackDeadlines,
  type DeadlineRecord,
} from './deadline-tracker';

/** Where time comes from. The domain never reads the system clock itself. */
export interface Clock {
  now(): Date;
}

export interface IdSource {
  next(kind: 'claim' | 'poe'): string;
}

const randomIds: IdSource = { next: () => randomUUID() };

export interface ClaimServiceOptions {
  store: ClaimStore;
  /** The policy versions claims follow; `policy` is the shorthand for a single one. */
  policies?: PolicySource;
  policy?: CompiledPolicy;
  clock: Clock;
  ids?: IdSource;
}

export interface ActOptions {
  /** The claim version the caller last saw (If-Match); a stale one is refused. */
  expectedVersion?: number;
  /** Ids the service would otherwise generate (replaying a history). */
  refs?: HistoryRefs;
  /** Facts of an uploaded PoE file. */
  file?: EventMeta['file'];
}

/** Ids and file facts the service generated for an event, kept so a replay reproduces them. */
export interface HistoryRefs {
  claimId?: string;
  poeId?: string;
  file?: EventMeta['file'];
}

export interface ActResult {
  claim: ClaimRecord;
  /** History entries this call appended: deadlines that fell due first, then the event. */
  entries: HistoryEntry[];
}

/** A refused event, as the domain error the API and the scenario runner report. */
export function refusalError(refusal: Refusal): DomainError {
  switch (refusal.kind) {
    case 'input':
      return new InputError(refusal.code, refusal.message, refusal.path, refusal.details);
    case 'notAllowed':
      return new NotAllowedError(refusal.code, refusal.message, refusal.details, refusal.path);
    default:
      return new ConflictError(refusal.code, refusal.message, refusal.details, refusal.path);
  }
}

/** Each result carries its decision-log record: applied or refused, every event is logged. */
type Applied =
  | { ok: true; record: ClaimRecord; entry: HistoryEntry; decision: DecisionRecord }
  | { ok: false; refusal: Refusal; decision: DecisionRecord };

/** What a transition's decision record is built from. */
interface TransitionFacts {
  claimId: string | null;
  at: string;
  policy: { id: string; version: string };
  /** The history entry's event (`<deadline>Due` for a deadline) and payload. */
  event: string;
  actor: { role: string; id?: string };
  payload: Record<string, unknown>;
  /** The claim before the step (null: not created yet). */
  before: ClaimRecord | null;
  from: LeafState;
  to: LeafState;
  refusal?: Refusal;
  rulesFired: string[];
}

/**
 * The decision record of a transition, applied or refused. The digest covers what
 * decided it: event, role, payload, and the claim version and chain head it met.
 */
function transitionDecision(facts: TransitionFacts): DecisionRecord {
  const { before } = facts;
  return {
    claimId: facts.claimId,
    at: facts.at,
    kind: 'transition',
    author: { role: facts.actor.role, id: facts.actor.id ?? null },
    policy: { id: facts.policy.id, version: facts.policy.version },
    inputDigest: digestInput({
      event: facts.event,
      actor: { role: facts.actor.role },
      payload: facts.payload,
      claimVersion: before?.version ?? 0,
      lastHash: before?.lastHash ?? null,
    }),
    result: {
      event: facts.event,
      from: facts.from === 'new' ? null : facts.from,
      to: facts.to === 'new' ? null : facts.to,
      ...(facts.refusal ? { refused: { code: facts.refusal.code } } : {}),
    },
    rulesFired: facts.rulesFired,
  };
}

interface Fired {
  record: ClaimRecord;
  entries: HistoryEntry[];
  decisions: DecisionRecord[];
}

export function createClaimService(options: ClaimServiceOptions) {
  const { store, clock, ids = randomIds } = options;
  const policies = options.policies ?? (options.policy ? singlePolicySource(options.policy) : undefined);
  if (!policies) throw new Error('createClaimService needs policies or a policy');

  /** The version a claim follows: pinned at submission, else the one in effect at `at`. */
  const policyFor = (record: ClaimRecord | null, at: Date): CompiledPolicy => {
    if (!record?.policyPinned) return policies.current(at);
    const pinned = policies.get(record.policy);
    if (!pinned) {
      throw new ConflictError(
        'policyUnavailable',
        `Claim ${record.id} follows policy ${record.policy.id} ${record.policy.version}, which this service has not loaded.`,
      );
    }
    return pinned;
  };

  const factsOf = (compiled: CompiledPolicy, snapshot: ClaimSnapshot, state: LeafState, at: Date): Facts =>
    computeFacts({
      fields: snapshot.context.fields,
      poe: snapshot.context.poe,
      status: state === 'new' ? 'editing' : statusOf(state).status,
      asOfDate: compiled.calendar.localDate(at),
    });

  /** Steps one event on a record (null: not created yet) and derives everything that follows from it. */
  async function apply(
    record: ClaimRecord | null,
    event: ClaimEvent,
    entryEvent: string = event.type,
    entryPayload: Record<string, unknown> = event.payload,
  ): Promise<Applied> {
    const at = new Date(event.at);
    const compiled = policyFor(record, at);
    const { policy, calendar, claim: machine, rules } = compiled;
    const snapshot = record?.snapshot ?? initialSnapshot(machine);
    const meta: EventMeta = { ...event.meta };
    if (record) meta.closedEvents = closedEvents(policy, record.deadlines);
    // Rule outcomes of this step, for its decision record (prefixed by kind).
    const requirementsMet: string[] = [];
    if (event.type === 'submit') {
      const requirements = await rules.evaluateRequirements(factsOf(compiled, snapshot, record?.state ?? 'new', at));
      meta.requirements = {
        passed: requirements.passed,
        failed: requirements.results.filter((r) => !r.matched).map((r) => ({ code: r.code, message: r.message })),
      };
      for (const r of requirements.results) if (r.matched) requirementsMet.push(`requirement:${r.code}`);
    }
    const decided = (from: LeafState, to: LeafState, rulesFired: string[], refusal?: Refusal) =>
      transitionDecision({
        claimId: record?.id ?? null,
        at: event.at,
        policy,
        event: entryEvent,
        actor: event.actor,
        payload: entryPayload,
        before: record,
        from,
        to,
        ...(refusal ? { refusal } : {}),
        rulesFired,
      });
    const step = stepClaim(machine, snapshot, { ...event, meta });
    if (!step.ok) {
      const state = record?.state ?? 'new';
      return { ok: false, refusal: step.refusal, decision: decided(state, state, requirementsMet, step.refusal) };
    }

    const deadlines = trackDeadlines(policy, calendar, record?.deadlines ?? [], step.from, step.to, at);
    const facts = factsOf(compiled, step.snapshot, step.to, at);
    const deficiencies = (await rules.evaluateDeficiencies(facts)).filter((d) => d.matched).map((d) => d.code);
    let assessment = record?.assessment ?? null;
    const eligible: string[] = [];
    if (step.to === 'approved.sentForAssessment' && step.from !== step.to) {
      const eligibility = await rules.evaluateEligibility(facts);
      assessment = {
        at: event.at,
        programs: eligibility.map((e) => ({ code: e.code, eligible: e.matched, summary: e.summary })),
      };
      for (const e of eligibility) if (e.matched) eligible.push(`eligible:${e.code}`);
    }
    const id = step.snapshot.context.id;
    const next: ClaimRecord = {
      id,
      version: record?.version ?? 0,
      policy: record?.policyPinned ? record.policy : { id: policy.id, version: policy.version },
      // Submission pins the version in effect then: the claim follows it from now on.
      policyPinned: (record?.policyPinned ?? false) || (step.from === 'editing' && step.to === 'submitted'),
      createdAt: record?.createdAt ?? event.at,
      updatedAt: event.at,
      state: step.to,
      ...statusOf(step.to),
      reason: step.snapshot.context.reason,
      snapshot: step.snapshot,
      deadlines,
      overdue: overdueNames(policy, deadlines),
      deficiencies,
      nextDueAt: nextDueAt(deadlines),
      assessment,
      lastSeq: (record?.lastSeq ?? 0) + 1,
      lastHash: record?.lastHash ?? null,
    };
    const refs: HistoryRefs = {};
    if (event.type === 'create') refs.claimId = id;
    if (event.meta?.poeId) refs.poeId = event.meta.poeId;
    if (event.meta?.file) refs.file = event.meta.file;
    const entry = sealEntry(
      {
        claimId: id,
        seq: next.lastSeq,
        at: event.at,
        actor: event.actor,
        event: entryEvent,
        payload: entryPayload,
        from: step.from,
        to: step.to,
        policy: next.policy,
        ...(Object.keys(refs).length ? { refs } : {}),
      },
      next.lastHash,
    );
    next.lastHash = entry.hash;
    const rulesFired = [...deficiencies.map((code) => `deficiency:${code}`), ...requirementsMet, ...eligible];
    const decision = { ...decided(step.from, step.to, rulesFired), claimId: id };
    return { ok: true, record: next, entry, decision };
  }

  /** Fires the record's deadlines due at or before `until`, each at its own due instant. */
  async function fireDeadlines(record: ClaimRecord, until: Date): Promise<Fired> {
    const entries: HistoryEntry[] = [];
    const decisions: DecisionRecord[] = [];
    for (;;) {
      const [deadline] = dueDeadlines(record.deadlines, until);
      if (!deadline) break;
      const { policy } = policyFor(record, new Date(deadline.dueAt));
      const spec = policy.deadlines[deadline.name];
      const action = spec?.onDue ?? { escalate: true as const };
      const fired: DeadlineRecord = {
        ...deadline,
        status: 'fired',
        endedAt: deadline.dueAt,
        lapsed: !('send' in action),
      };
      const deadlines = record.deadlines.map((d) => (d.id === deadline.id ? fired : d));
      const withFired: ClaimRecord = {
        ...record,
        deadlines,
        overdue: overdueNames(policy, deadlines),
        nextDueAt: nextDueAt(deadlines),
      };
      const entryEvent = `${deadline.name}Due`;
      if ('send' in action) {
        const payload = { ...(action.with ?? {}) };
        const applied = await apply(
          withFired,
          { type: action.send, actor: { role: SYSTEM_ROLE }, at: deadline.dueAt, payload },
          entryEvent,
          { deadline: deadline.name, send: action.send, with: payload },
        );
        decisions.push(applied.decision);
        if (applied.ok) {
          record = applied.record;
          entries.push(applied.entry);
          continue;
        }
        // The policy linter keeps this from happening; if it does, the deadline is spent and says why.
        record = appendSystemEntry(withFired, deadline, entries, entryEvent, {
          deadline: deadline.name,
          send: action.send,
          refused: { code: applied.refusal.code, message: applied.refusal.message },
        });
        continue;
      }
      const payload = { deadline: deadline.name, ...('closes' in action ? { closes: action.closes } : { escalate: true }) };
      decisions.push(
        transitionDecision({
          claimId: record.id,
          at: deadline.dueAt,
          policy,
          event: entryEvent,
          actor: { role: SYSTEM_ROLE },
          payload,
          before: record,
          from: record.state,
          to: record.state,
          rulesFired: [],
        }),
      );
      record = appendSystemEntry({ ...withFired, updatedAt: deadline.dueAt }, deadline, entries, entryEvent, payload);
    }
    return { record, entries, decisions };
  }

  /** Appends a deadline's entry that moves no state; returns the record with the chain's new head. */
  function appendSystemEntry(
    record: ClaimRecord,
    deadline: DeadlineRecord,
    entries: HistoryEntry[],
    event: string,
    payload: Record<string, unknown>,
  ): ClaimRecord {
    const entry = sealEntry(
      {
        claimId: record.id,
        seq: record.lastSeq + 1,
        at: deadline.dueAt,
        actor: { role: SYSTEM_ROLE },
        event,
        payload,
        from: record.state,
        to: record.state,
        policy: record.policy,
      },
      record.lastHash,
    );
    entries.push(entry);
    return { ...record, lastSeq: entry.seq, lastHash: entry.hash };
  }

  /** Writes a change (none when `entries` is empty) and its decision records, which a refusal has without a change. */
  async function save(
    tx: ClaimStoreTx,
    before: ClaimRecord,
    after: ClaimRecord,
    entries: HistoryEntry[],
    decisions: readonly DecisionRecord[],
  ) {
    let saved = before;
    if (entries.length > 0) {
      saved = { ...after, version: before.version + 1 };
      await tx.updateClaim(saved, before.version);
      await tx.appendHistory(entries);
      await tx.appendOutbox(outboxFor(saved, entries));
    }
    if (decisions.length > 0) await tx.appendDecisions(decisions);
    return saved;
  }

  /** Outbox messages for a change; each names the claim as it is after the whole change. */
  function outboxFor(claim: ClaimRecord, entries: readonly HistoryEntry[]) {
    // Messages name deadlines by what the claim's policy version says they do.
    const { policy } = policyFor(claim, new Date(claim.updatedAt));
    return entries.flatMap((entry) => outboxMessageFor(claim, entry, policy) ?? []);
  }

  async function load(tx: ClaimStoreTx, claimId: string): Promise<ClaimRecord> {
    const record = await tx.getClaim(claimId);
    if (!record) throw new NotFoundError('claimNotFound', `No claim ${claimId}.`);
    return record;
  }

  const service = {
    /** The policy version in effect now. */
    get policy(): CompiledPolicy {
      return policies.current(clock.now());
    },
    policies,
    clock,

    /** The policy version a claim follows at an instant: pinned at submission, else the one in effect then. */
    policyFor(record: ClaimRecord | null, at: Date = clock.now()): CompiledPolicy {
      return policyFor(record, at);
    },

    /** Creates a claim in `editing`. */
    async create(actor: Actor, fields: object, options: ActOptions = {}): Promise<ActResult> {
      const at = clock.now().toISOString();
      const claimId = options.refs?.claimId ?? ids.next('claim');
      const applied = await apply(null, { type: 'create', actor, at, payload: fields as Record<string, unknown>, meta: { claimId } });
      if (!applied.ok) {
        // No claim to file it under: the refusal is logged with claimId null.
        await store.recordDecision(applied.decision);
        throw refusalError(applied.refusal);
      }
      const claim = { ...applied.record, version: 1 };
      await store.transaction(async (tx) => {
        await tx.insertClaim(claim);
        await tx.appendHistory([applied.entry]);
        await tx.appendDecisions([applied.decision]);
      });
      return { claim, entries: [applied.entry] };
    },

    /** Applies one event to a claim, after firing the deadlines that fell due before it. */
    async act(
      claimId: string,
      type: EventType | string,
      actor: Actor,
      payload: Record<string, unknown>,
      options: ActOptions = {},
    ): Promise<ActResult> {
      const now = clock.now();
      const outcome = await store.transaction(async (tx): Promise<ActResult & { refusal?: Refusal }> => {
        const stored = await load(tx, claimId);
        if (options.expectedVersion !== undefined && options.expectedVersion !== stored.version) {
          throw new ConflictError(
            'staleVersion',
            `Claim ${claimId} is at version ${stored.version}, not ${options.expectedVersion}; reload it and try again.`,
          );
        }
        const fired = await fireDeadlines(stored, now);
        const meta: EventMeta = {};
        if (type === 'uploadPoe') meta.poeId = options.refs?.poeId ?? ids.next('poe');
        const file = options.file ?? options.refs?.file;
        if (file) meta.file = file;
        const applied = await apply(fired.record, {
          type: type as EventType,
          actor,
          at: now.toISOString(),
          payload,
          meta,
        });
        const decisions = [...fired.decisions, applied.decision];
        if (!applied.ok) {
          // The refusal changes nothing, but deadlines that fell due still count; its decision is logged with them.
          const saved = await save(tx, stored, fired.record, fired.entries, decisions);
          return { refusal: applied.refusal, claim: saved, entries: fired.entries };
        }
        const entries = [...fired.entries, applied.entry];
        const saved = await save(tx, stored, applied.record, entries, decisions);
        return { claim: saved, entries };
      });
      if (outcome.refusal) throw refusalError(outcome.refusal);
      return { claim: outcome.claim, entries: outcome.entries };
    },

    /**
     * Fires every deadline due at or before `until` (default: now), one claim per
     * transaction. A claim another instance changed meanwhile is skipped (that
     * instance fired it); a claim that fails does not hold up the others.
     */
    async fireDue(until: Date = clock.now(), batch = 100): Promise<HistoryEntry[]> {
      const all: HistoryEntry[] = [];
      const tried = new Set<string>();
      const failures: unknown[] = [];
      for (;;) {
        const due = (await store.claimsDue(until.toISOString(), batch + tried.size)).filter((id) => !tried.has(id));
        if (due.length === 0) break;
        for (const id of due.slice(0, batch)) {
          tried.add(id);
          try {
            const entries = await store.transaction(async (tx) => {
              const stored = await tx.getClaim(id);
              if (!stored) return [];
              const fired = await fireDeadlines(stored, until);
              await save(tx, stored, fired.record, fired.entries, fired.decisions);
              return fired.entries;
            });
            all.push(...entries);
          } catch (error) {
            if (error instanceof ConflictError && error.code === 'staleVersion') continue;
            failures.push(error);
          }
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} claim(s) failed to fire deadlines`);
      return all;
    },

    async getClaim(claimId: string): Promise<ClaimRecord> {
      const record = await store.getClaim(claimId);
      if (!record) throw new NotFoundError('claimNotFound', `No claim ${claimId}.`);
      return record;
    },

    async history(claimId: string): Promise<HistoryEntry[]> {
      await service.getClaim(claimId);
      return store.listHistory(claimId);
    },

    /**
     * The claim's conflicts with other partners' claims and how the policy would settle
     * them; null when there are none. Judged under the policy in effect now (not each
     * claim's pinned version), so both sides of a conflict are judged by one rule.
     * Flags only: no claim changes because of a conflict.
     */
    async conflicts(record: ClaimRecord): Promise<ConflictReport | null> {
      const policy = service.policy.policy;
      const rule = policy.conflicts;
      if (!rule || !inStates(record.state, rule.activeStatuses)) return null;
      return describeConflicts(record, await store.findOverlaps(record, rule.activeStatuses), policy);
    },

    /** The facts the policy's rules see for a claim at an instant. */
    factsFor(record: ClaimRecord, at: Date): Facts {
      return factsOf(policyFor(record, at), record.snapshot, record.state, at);
    },
  };
  return service;
}

export type ClaimService = ReturnType<typeof createClaimService>;
