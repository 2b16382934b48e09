/**
 * SQLSTATEs and socket errors of a database that is down, restarting or unreachable: a
 * request that met one may succeed if retried shortly (503, never 500).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
]);
const UNAVAILABLE_MESSAGES = /Connection terminated|not queryable|connection (?:is )?closed|Timeout acquiring a connection|the database system is (?:starting up|shutting down|in recovery)|terminating connection/i;

/** Whether `error` (or its cause) says the database cannot be reached now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (e.name === 'KnexTimeoutError' || UNAVAILABLE_MESSAGES.test(e.message)) return true;
  }
  return false;
}
