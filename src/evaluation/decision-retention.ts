/**
 * Retention of the decision log's evaluation records: a scheduler task that deletes those
 * older than the retention (EVALUATION_LOG_RETENTION_DAYS), at most once per `everyMs`
 * on the injected clock. Transitions' records are never pruned (they are the claim's history).
 */
import type { ClaimStore } from '../claims/claim-store';

const DAY_MS = 86_400_000;

export interface DecisionRetentionOptions {
  store: Pick<ClaimStore, 'pruneEvaluationDecisions'>;
  clock: { now(): Date };
  /** Days evaluation records are kept; 0 keeps them for ever (the task does nothing). */
  retentionDays: number;
  logger: { info(obj: object, message: string): void };
  /** Least time between two prunes (default one hour). */
  everyMs?: number;
}

export function createDecisionRetentionTask({ store, clock, retentionDays, logger, everyMs = 3_600_000 }: DecisionRetentionOptions) {
  let last = Number.NEGATIVE_INFINITY;
  return {
    name: 'decision-retention',
    async run(): Promise<number> {
      if (retentionDays <= 0) return 0;
      const now = clock.now().getTime();
      if (now - last < everyMs) return 0;
      last = now;
      const pruned = await store.pruneEvaluationDecisions(new Date(now - retentionDays * DAY_MS).toISOString());
      if (pruned > 0) logger.info({ pruned, retentionDays }, 'decision log: evaluation records past retention deleted');
      return pruned;
    },
  };
}
