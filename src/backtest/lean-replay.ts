/**
 * A claim's history replayed on a plain in-memory record through the lifecycle core
 * (applyEvent, fireDeadlines), as the claim service applies events but with no store,
 * no copies of the record per read, nothing written: the backtest's replay. Each event
 * meets what the service would have done at its instant: deadlines due before it fire
 * first, a refusal keeps those firings and changes nothing else. The core runs verdict
 * only (no history chain, no decision records, no explanation text: nothing a backtest
 * compares), its rules through `evaluateRules` when given (a cache shared across claims).
 */
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import { applyEvent, fireDeadlines, type CoreOptions } from '../claims/lifecycle';
import type { EventMeta, EventType } from '../domain/claim-types';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { SYSTEM_ROLE } from '../rules/policy-types';

export interface LeanReplay {
  claim: ClaimRecord | undefined;
  /** Events the replayed policy refused (they were applied originally). */
  refused: Array<{ seq: number; event: string; code: string; message: string }>;
}

/** Replays `entries` (one claim's history, in order) under `policy` and lets deadlines run until `until`. */
export async function replayLean(
  policy: CompiledPolicy,
  entries: readonly HistoryEntry[],
  until: Date,
  evaluateRules?: CoreOptions['evaluateRules'],
): Promise<LeanReplay> {
  const policyFor = () => policy;
  const options = { verdictOnly: true as const, ...(evaluateRules ? { evaluateRules } : {}) };
  const refused: LeanReplay['refused'] = [];
  let record: ClaimRecord | undefined;
  for (const entry of entries) {
    if (entry.actor.role === SYSTEM_ROLE) continue;
    const at = new Date(entry.at);
    if (entry.event === 'create') {
      if (record) {
        refused.push({ seq: entry.seq, event: entry.event, code: 'claimExists', message: `Claim ${record.id} already exists.` });
        continue;
      }
      const claimId = entry.refs?.claimId;
      if (!claimId) throw new Error('a replayed event must carry the ids it was given');
      const applied = await applyEvent(policy, null, { type: 'create', actor: entry.actor, at: entry.at, payload: entry.payload, meta: { claimId } }, undefined, options);
      if (applied.ok) record = applied.record;
      else refused.push({ seq: entry.seq, event: entry.event, code: applied.refusal.code, message: applied.refusal.message });
      continue;
    }
    if (!record) continue;
    const fired = await fireDeadlines(policyFor, record, at, options);
    const meta: EventMeta = {};
    if (entry.event === 'uploadPoe') {
      if (!entry.refs?.poeId) throw new Error('a replayed event must carry the ids it was given');
      meta.poeId = entry.refs.poeId;
    }
    if (entry.refs?.file) meta.file = entry.refs.file;
    const applied = await applyEvent(policy, fired.record, { type: entry.event as EventType, actor: entry.actor, at: entry.at, payload: entry.payload, meta }, undefined, options);
    if (applied.ok) {
      record = applied.record;
    } else {
      record = fired.record;
      refused.push({ seq: entry.seq, event: entry.event, code: applied.refusal.code, message: applied.refusal.message });
    }
  }
  if (!record) return { claim: undefined, refused };
  const fired = await fireDeadlines(policyFor, record, until, options);
  return { claim: fired.record, refused };
}
