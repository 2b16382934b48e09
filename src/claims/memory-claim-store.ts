/** An in-memory ClaimStore: simulations, backtests and tests. Transactions run one at a time. */
import { ConflictError } from '../domain/errors';
import { sameTenant } from '../domain/tenant-id';
import type { ClaimRecord, HistoryEntry } from './claim-record';
import { searchNeedle, searchTextOf } from './claim-search';
import { isInConflict, overlapOf } from './conflicts';
import type { ClaimFilter, ClaimStore, ClaimStoreTx, OutboxRecord, StoredDecision } from './claim-store';
import type { DecisionRecord } from './decision-digest';
import type { OutboxMessage } from './outbox-message';

const clone = <T>(value: T): T => structuredClone(value);

const byCreation = (a: ClaimRecord, b: ClaimRecord) =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** Whether a claim passes a list filter (shared by stores that filter in memory). */
function matchesFilter(claim: ClaimRecord, filter: ClaimFilter): boolean {
  const fields = claim.snapshot.context.fields;
  if (filter.status && claim.status !== filter.status) return false;
  if (filter.overdue && !claim.overdue.includes(filter.overdue)) return false;
  if (filter.tenantId && !sameTenant(fields.customer?.tenantId, filter.tenantId)) return false;
  if (filter.partnerId && fields.partnerId !== filter.partnerId) return false;
  if (filter.q) {
    const needle = searchNeedle(filter.q);
    if (needle === undefined || !searchTextOf(claim).includes(needle)) return false;
  }
  if (filter.after) {
    const { createdAt, id } = filter.after;
    if (claim.createdAt < createdAt || (claim.createdAt === createdAt && claim.id <= id)) return false;
  }
  return true;
}

export function createMemoryClaimStore(): ClaimStore {
  const claims = new Map<string, ClaimRecord>();
  const history = new Map<string, HistoryEntry[]>();
  const outbox = new Map<string, OutboxRecord>();
  const decisions: StoredDecision[] = [];
  let lastSeq = 0;
  const logDecision = (record: DecisionRecord) => decisions.push({ seq: (lastSeq += 1), record: clone(record) });
  /** Leases of outbox messages being delivered: message id → until. */
  const leases = new Map<string, string>();
  let queue: Promise<unknown> = Promise.resolve();

  /** Claims with a deadline due at or before `until`, in the order they fall due, then by creation. */
  const dueClaims = (until: string) =>
    [...claims.values()]
      .filter((c) => c.nextDueAt !== null && Date.parse(c.nextDueAt) <= Date.parse(until))
      .sort((a, b) => Date.parse(a.nextDueAt!) - Date.parse(b.nextDueAt!) || byCreation(a, b));

  /** Pending messages due at `now`, oldest first. */
  const dueMessages = (now: string) =>
    [...outbox.values()]
      .filter((m) => m.status === 'pending' && m.nextAttemptAt !== null && m.nextAttemptAt <= now)
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  const run = async <T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> => {
    // Writes are staged and applied only when fn resolves: a throw leaves nothing behind.
    const staged = new Map<string, ClaimRecord>();
    const stagedHistory: HistoryEntry[] = [];
    const stagedOutbox: OutboxMessage[] = [];
    const stagedDecisions: DecisionRecord[] = [];
    const tx: ClaimStoreTx = {
      async getClaim(id) {
        const claim = staged.get(id) ?? claims.get(id);
        return claim && clone(claim);
      },
      async insertClaim(claim) {
        if (claims.has(claim.id) || staged.has(claim.id)) {
          throw new ConflictError('claimExists', `Claim ${claim.id} already exists.`);
        }
        staged.set(claim.id, clone(claim));
      },
      async updateClaim(claim, expectedVersion) {
        const current = staged.get(claim.id) ?? claims.get(claim.id);
        if (!current || current.version !== expectedVersion) {
          throw new ConflictError('versionConflict', `Claim ${claim.id} changed meanwhile; reload it and try again.`);
        }
        staged.set(claim.id, clone(claim));
      },
      async appendHistory(entries) {
        stagedHistory.push(...entries.map(clone));
      },
      async listHistory(claimId) {
        return [...(history.get(claimId) ?? []), ...stagedHistory.filter((e) => e.claimId === claimId)].map(clone);
      },
      async appendOutbox(messages) {
        stagedOutbox.push(...messages.map(clone));
      },
      async appendDecisions(records) {
        stagedDecisions.push(...records.map(clone));
      },
      async takeDueClaim(until, skip) {
        // Transactions run one at a time here, so nothing else holds a claim.
        const [due] = dueClaims(until).filter((c) => !skip.has(c.id));
        return due && clone(staged.get(due.id) ?? due);
      },
    };
    const result = await fn(tx);
    for (const [id, claim] of staged) claims.set(id, claim);
    for (const entry of stagedHistory) {
      const list = history.get(entry.claimId) ?? [];
      list.push(entry);
      history.set(entry.claimId, list);
    }
    stagedDecisions.forEach(logDecision);
    for (const message of stagedOutbox) {
      if (outbox.has(message.id)) continue;
      outbox.set(message.id, {
        ...message,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: message.at,
        lastError: null,
        deliveredAt: null,
      });
    }
    return result;
  };

  return {
    transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> {
      const result = queue.then(() => run(fn));
      queue = result.catch(() => undefined);
      return result;
    },
    async getClaim(id) {
      const claim = claims.get(id);
      return claim && clone(claim);
    },
    async listHistory(claimId) {
      return (history.get(claimId) ?? []).map(clone);
    },
    async listClaims(filter) {
      const conflict = filter.conflict;
      return [...claims.values()]
        .filter((c) => matchesFilter(c, filter))
        .filter((c) => !conflict || isInConflict(c, claims.values(), conflict.activeStatuses) === conflict.conflicted)
        .sort(byCreation)
        .slice(0, filter.limit)
        .map(clone);
    },
    async findOverlaps(claim, activeStatuses) {
      return [...claims.values()]
        .filter((other) => overlapOf(claim, other, activeStatuses).length > 0)
        .sort(byCreation)
        .map(clone);
    },
    async allClaimIds() {
      return [...claims.values()].sort(byCreation).map((c) => c.id);
    },
    async countClaimsByPolicy() {
      const counts = new Map<string, { id: string; version: string; claims: number }>();
      for (const { policy } of claims.values()) {
        const key = JSON.stringify([policy.id, policy.version]);
        const entry = counts.get(key) ?? { id: policy.id, version: policy.version, claims: 0 };
        entry.claims++;
        counts.set(key, entry);
      }
      return [...counts.values()];
    },
    async pendingOutbox(now, limit) {
      return dueMessages(now).slice(0, limit).map(clone);
    },
    async leaseOutbox(now, leaseUntil, limit) {
      const held = new Set([...leases].filter(([, until]) => until > now).map(([id]) => outbox.get(id)?.claimId));
      const taken = dueMessages(now)
        .filter((m) => !held.has(m.claimId))
        .slice(0, limit);
      for (const m of taken) leases.set(m.id, leaseUntil);
      return taken.map(clone);
    },
    async releaseOutbox(ids, leaseUntil) {
      for (const id of ids) if (leases.get(id) === leaseUntil) leases.delete(id);
    },
    async updateOutbox(id, update) {
      const current = outbox.get(id);
      if (current) outbox.set(id, { ...current, ...update });
      leases.delete(id);
    },
    async recordDecision(record) {
      logDecision(record);
    },
    async recordShadowDecisions(records) {
      for (const record of records) {
        const known = decisions.some((d) => d.record.kind === 'shadow' && d.record.inputDigest === record.inputDigest);
        if (!known) logDecision(record);
      }
    },
    async pruneEvaluationDecisions(before) {
      const cutoff = Date.parse(before);
      const kept = decisions.filter((d) => d.record.kind !== 'evaluation' || Date.parse(d.record.at) >= cutoff);
      const pruned = decisions.length - kept.length;
      decisions.splice(0, decisions.length, ...kept);
      return pruned;
    },
    async listDecisions(claimId, limit) {
      return decisions.filter((d) => d.record.claimId === claimId).slice(0, limit).map((d) => clone(d.record));
    },
    async pageDecisions(claimId, { kind, after, limit }) {
      return decisions
        .filter((d) => d.record.claimId === claimId && (kind === undefined || d.record.kind === kind) && (after === undefined || d.seq > after))
        .slice(0, limit)
        .map(clone);
    },
    async pageAllDecisions({ kind, after, limit }) {
      return decisions
        .filter((d) => (kind === undefined || d.record.kind === kind) && (after === undefined || d.seq > after))
        .slice(0, limit)
        .map(clone);
    },
    async listOutbox(filter) {
      return [...outbox.values()]
        .filter((m) => (!filter.claimId || m.claimId === filter.claimId) && (!filter.status || m.status === filter.status))
        .slice(0, filter.limit)
        .map(clone);
    },
  };
}
