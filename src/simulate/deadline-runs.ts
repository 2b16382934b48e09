/** Each deadline run of a scenario as intervals over time: when it ran, when it stood paused, how it ended. */
import { isInAnyState } from '../domain/claim-types';
import type { DeadlinePolicy } from '../rules/policy-types';
import type { ScenarioResult } from './run-scenario';

export interface DeadlineRun {
  name: string;
  startedAt: string;
  /** The instant it falls due (moved by pauses), as the claim recorded it. */
  due: string;
  outcome: 'fired' | 'met' | 'pending';
  /** Instant it was met or fired; null while pending. */
  endedAt: string | null;
  /** Intervals the claim spent in the deadline's `pausedIn` states while it ran; `to` null: still paused at the end. */
  pauses: Array<{ from: string; to: string | null }>;
}

/**
 * The scenario's deadline runs with their pauses, read from its timeline (the states the claim
 * passed through) and the policy's `runsIn` / `pausedIn`. The claim's records say how each run
 * ended; the timeline says when the claim was in which state.
 */
export function deadlineRuns(
  result: Pick<ScenarioResult, 'timeline' | 'deadlines'>,
  deadlines: Readonly<Record<string, DeadlinePolicy>>,
): DeadlineRun[] {
  const moves = result.timeline.filter((t) => !t.refused && t.to !== null && t.from !== t.to);
  return result.deadlines.map((d) => {
    const spec = deadlines[d.name];
    const run: DeadlineRun = { ...d, endedAt: d.outcome === 'fired' ? d.due : null, pauses: [] };
    if (!spec) return run;
    const startedAt = Date.parse(d.startedAt);
    const firedAt = d.outcome === 'fired' ? Date.parse(d.due) : Infinity;
    const start = moves.findIndex((m) => Date.parse(m.at) === startedAt && isInAnyState(m.to!, spec.runsIn));
    if (start < 0) return run;
    let paused: { from: string; to: string | null } | undefined;
    for (const move of moves.slice(start + 1)) {
      const at = Date.parse(move.at);
      if (at >= firedAt) break;
      if (isInAnyState(move.to!, spec.pausedIn)) {
        if (!paused) run.pauses.push((paused = { from: move.at, to: null }));
      } else if (isInAnyState(move.to!, spec.runsIn)) {
        if (paused) paused.to = move.at;
        paused = undefined;
      } else {
        if (paused) paused.to = move.at;
        if (d.outcome === 'met') run.endedAt = move.at;
        break;
      }
    }
    return run;
  });
}
