/**
 * The claim service: load → the pure lifecycle core (./lifecycle: fire due deadlines,
 * apply the event) → save, in one transaction per call. Simulation, the API and
 * backtests all run it; only the clock and the store differ. Every event applied or
 * refused, and every deadline fired, leaves a decision-log record in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import { isInAnyState, type Actor, type ClaimEvent, type EventMeta, type EventType } from '../domain/claim-types';
import { ConflictError, DomainError, InputError, NotAllowedError, NotFoundError } from '../domain/errors';
import type { Refusal } from '../machines/guards';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { singlePolicySource, type PolicySource } from '../policies/policy-source';
import { resolvePolicyVersion } from '../policies/resolve-policy-version';
import type { Facts } from '../rules/facts';
import type { ClaimRecord, HistoryEntry } from './claim-record';
import type { ClaimStore, ClaimStoreTx } from './claim-store';
import { describeConflicts, type ConflictReport } from './conflicts';
import type { DecisionRecord } from './decision-digest';
import { applyEvent, claimFacts, fireDeadlines, type AppliedStep, type HistoryRefs } from './lifecycle';
import { shadowDecision } from './shadow';
import { outboxMessageFor } from './outbox-message';

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
  /** Where the service reports what it cannot let fail a change (a shadow evaluation that throws). */
  log?: (level: 'warn' | 'error', message: string, details?: object) => void;
}

export interface ActOptions {
  /** The claim version the caller last saw (If-Match); a stale one is refused. */
  expectedVersion?: number;
  /** Ids the service would otherwise generate (replaying a history). */
  refs?: HistoryRefs;
  /** Facts of an uploaded PoE file. */
  file?: EventMeta['file'];
  /** Runs in the change's transaction once it is written (the API stores its answer there); a throw undoes the change. */
  withChange?: (result: ActResult, tx: ClaimStoreTx) => Promise<void>;
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

export function createClaimService(options: ClaimServiceOptions) {
  const { store, clock, ids = randomIds } = options;
  const log = options.log ?? (() => {});
  const policies = options.policies ?? (options.policy ? singlePolicySource(options.policy) : undefined);
  if (!policies) throw new Error('createClaimService needs policies or a policy');

  /** The version a claim follows: pinned at submission, else the one in effect at `at`. */
  const policyFor = (record: ClaimRecord | null, at: Date): CompiledPolicy => resolvePolicyVersion(policies, { record, at });

  /** One event under the version the claim follows at the event's instant. */
  const apply = (record: ClaimRecord | null, event: ClaimEvent) =>
    applyEvent(policyFor(record, new Date(event.at)), record, event);

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

  /**
   * Evaluates the shadow versions of each step's program on the step (claims/shadow.ts) and
   * records what they would have decided differently, each once. Runs after the change
   * committed and never fails it: a shadow version that throws is logged.
   */
  async function shadow(steps: readonly AppliedStep[]): Promise<void> {
    const shadowsOf = policies?.shadows?.bind(policies);
    if (!shadowsOf || steps.length === 0) return;
    const records: DecisionRecord[] = [];
    for (const step of steps) {
      const live = step.applied.decision.policy;
      for (const candidate of shadowsOf(live.id)) {
        const { id, version } = candidate.policy;
        try {
          const record = await shadowDecision(candidate, step);
          if (record) records.push(record);
        } catch (error) {
          log('error', `Shadow policy ${id} ${version} failed on ${step.event.type}: ${(error as Error).message}`, {
            claimId: step.before?.id ?? null,
            event: step.event.type,
            shadow: { id, version },
          });
        }
      }
    }
    if (records.length === 0) return;
    try {
      await store.recordShadowDecisions(records);
    } catch (error) {
      log('error', `Recording ${records.length} shadow decision(s) failed: ${(error as Error).message}`);
    }
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
      const event: ClaimEvent = { type: 'create', actor, at, payload: fields as Record<string, unknown>, meta: { claimId } };
      const applied = await apply(null, event);
      if (!applied.ok) {
        // No claim to file it under: the refusal is logged with claimId null.
        await store.recordDecision(applied.decision);
        await shadow([{ before: null, event, applied }]);
        throw refusalError(applied.refusal);
      }
      const claim = { ...applied.record, version: 1 };
      const result: ActResult = { claim, entries: [applied.entry] };
      await store.transaction(async (tx) => {
        await tx.insertClaim(claim);
        await tx.appendHistory([applied.entry]);
        await tx.appendDecisions([applied.decision]);
        await options.withChange?.(result, tx);
      });
      await shadow([{ before: null, event, applied }]);
      return result;
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
      const outcome = await store.transaction(async (tx): Promise<ActResult & { refusal?: Refusal; steps: AppliedStep[] }> => {
        const stored = await load(tx, claimId);
        if (options.expectedVersion !== undefined && options.expectedVersion !== stored.version) {
          throw new DomainError(
            'preconditionFailed',
            'staleVersion',
            `Claim ${claimId} is at version ${stored.version}, not ${options.expectedVersion}; reload it and try again.`,
          );
        }
        const fired = await fireDeadlines(policyFor, stored, now);
        const meta: EventMeta = {};
        if (type === 'uploadPoe') meta.poeId = options.refs?.poeId ?? ids.next('poe');
        const file = options.file ?? options.refs?.file;
        if (file) meta.file = file;
        const event: ClaimEvent = { type: type as EventType, actor, at: now.toISOString(), payload, meta };
        const applied = await apply(fired.record, event);
        const decisions = [...fired.decisions, applied.decision];
        const steps: AppliedStep[] = [...fired.sent, { before: fired.record, event, applied }];
        if (!applied.ok) {
          // The refusal changes nothing, but deadlines that fell due still count; its decision is logged with them.
          const saved = await save(tx, stored, fired.record, fired.entries, decisions);
          return { refusal: applied.refusal, claim: saved, entries: fired.entries, steps };
        }
        const entries = [...fired.entries, applied.entry];
        const saved = await save(tx, stored, applied.record, entries, decisions);
        // The same object goes to withChange and to the caller, so an answer rendered for one serves both.
        const result: ActResult = { claim: saved, entries };
        await options.withChange?.(result, tx);
        return { ...result, steps };
      });
      await shadow(outcome.steps);
      if (outcome.refusal) throw refusalError(outcome.refusal);
      return { claim: outcome.claim, entries: outcome.entries };
    },

    /**
     * Fires every deadline due at or before `until` (default: now), one claim per
     * transaction, earliest due first. Each transaction takes the next due claim no other
     * instance holds, so several schedulers split the work instead of queueing on the same
     * rows; `onFired` hears of each claim's firings as soon as they commit. A claim that
     * fails does not hold up the others.
     */
    async fireDue(until: Date = clock.now(), options: { onFired?: (entries: HistoryEntry[]) => void } = {}): Promise<HistoryEntry[]> {
      const all: HistoryEntry[] = [];
      // Claims that stay due after their turn (they failed, or had nothing to fire): not taken again in this call.
      const passed = new Set<string>();
      const failures: unknown[] = [];
      for (;;) {
        let taken: string | undefined;
        try {
          const fired = await store.transaction(async (tx) => {
            const stored = await tx.takeDueClaim(until.toISOString(), passed);
            if (!stored) return undefined;
            taken = stored.id;
            const next = await fireDeadlines(policyFor, stored, until);
            await save(tx, stored, next.record, next.entries, next.decisions);
            return next;
          });
          if (!fired) break;
          await shadow(fired.sent);
          if (fired.record.nextDueAt !== null && fired.record.nextDueAt <= until.toISOString()) passed.add(taken!);
          if (fired.entries.length > 0) {
            all.push(...fired.entries);
            options.onFired?.(fired.entries);
          }
        } catch (error) {
          if (taken === undefined) throw error;
          passed.add(taken);
          // Another instance changed the claim meanwhile: it fired what was due.
          if (!(error instanceof ConflictError && error.code === 'versionConflict')) failures.push(error);
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
      if (!rule || !isInAnyState(record.state, rule.activeStatuses)) return null;
      return describeConflicts(record, await store.findOverlaps(record, rule.activeStatuses), policy);
    },

    /** The facts the policy's rules see for a claim at an instant. */
    factsFor(record: ClaimRecord, at: Date): Facts {
      return claimFacts(policyFor(record, at), record.snapshot, record.state, at);
    },
  };
  return service;
}

export type ClaimService = ReturnType<typeof createClaimService>;
