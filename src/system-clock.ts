/** The one clock that reads the system time; composition roots hand it to everything else. */
import type { Clock } from './claims/claim-service';

export const systemClock: Clock = { now: () => new Date() };

/** A clock that can be moved (demo mode). */
export interface SettableClock extends Clock {
  set(to: Date): void;
}

/** A clock that runs with the system time from `start` and can be moved to any instant, from where it runs on. */
export function createSettableClock(start: Date = new Date()): SettableClock {
  let offset = start.getTime() - Date.now();
  return {
    now: () => new Date(Date.now() + offset),
    set(to) {
      offset = to.getTime() - Date.now();
    },
  };
}
