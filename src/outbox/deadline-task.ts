/**
 * The scheduler's deadline task: fires due deadlines and reports each claim's firings — a log
 * line and the `cpor_deadlines_fired_total` counter — as soon as its transaction commits, so
 * firings an instance committed are on record even if it is killed before the due list is drained.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { ClaimService } from '../claims/claim-service';
import type { SchedulerTask } from './scheduler';

export interface DeadlineTaskOptions {
  service: Pick<ClaimService, 'fireDue'>;
  logger: Pick<Logger, 'info'>;
  /** Counts each firing by its event. */
  fired: Pick<Counter<'event'>, 'inc'>;
}

export function createDeadlineTask({ service, logger, fired }: DeadlineTaskOptions): SchedulerTask {
  return {
    name: 'deadlines',
    run: () =>
      service.fireDue(undefined, {
        onFired(entries) {
          for (const entry of entries) fired.inc({ event: entry.event });
          logger.info({ claimId: entries[0]!.claimId, events: entries.map((e) => e.event), at: entries.map((e) => e.at) }, 'deadlines fired');
        },
      }),
  };
}
