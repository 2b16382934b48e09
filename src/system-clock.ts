/** The one clock that reads the system time; composition roots hand it to everything else. */
import type { Clock } from './claims/claim-service';

export const systemClock: Clock = { now: () => new Date() };
