/**
 * Replays a claim's history through the claim service on a virtual clock. Only
 * the actors' events are replayed: deadlines fire again by themselves, so a
 * replay under another policy shows what that policy would have done.
 */
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import { createClaimService } from '../claims/claim-service';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { createMemoryClaimStore } from '../claims/memory-claim-store';
import { SYSTEM_ROLE } from '../rules/policy-types';
import { DomainError } from '../domain/errors';

export interface ReplayResult {
  claim: ClaimRecord | undefined;
  history: HistoryEntry[];
  /** Events the replayed policy refused (they were applied originally). */
  refused: Array<{ seq: number; event: string; code: string; message: string }>;
}

/** Replays `entries` (one claim's history, in order) and lets deadlines run until `until`. */
export async function replayHistory(
  policy: CompiledPolicy,
  entries: readonly HistoryEntry[],
  until: Date,
): Promise<ReplayResult> {
  let now = new Date(entries[0]?.at ?? until);
  const clock = { now: () => now };
  const store = createMemoryClaimStore();
  const service = createClaimService({
    store,
    policy,
    clock,
    ids: {
      next: () => {
        throw new Error('a replayed event must carry the ids it was given');
      },
    },
  });
  const refused: ReplayResult['refused'] = [];
  let claimId: string | undefined;
  for (const entry of entries) {
    if (entry.actor.role === SYSTEM_ROLE) continue;
    now = new Date(entry.at);
    try {
      if (entry.event === 'create') {
        claimId = (await service.create(entry.actor, entry.payload, { refs: entry.refs })).claim.id;
      } else if (claimId) {
        await service.act(claimId, entry.event, entry.actor, entry.payload, { refs: entry.refs });
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      refused.push({ seq: entry.seq, event: entry.event, code: error.code, message: error.message });
    }
  }
  if (!claimId) return { claim: undefined, history: [], refused };
  now = until;
  await service.fireDue(until);
  return { claim: await service.getClaim(claimId), history: await service.history(claimId), refused };
}
