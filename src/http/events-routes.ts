/**
 * `GET /v1/events`: server-sent events, one `event: claim` per committed change to a claim
 * the caller may see (checked per change, like a read of the claim), and a comment line now
 * and then so proxies keep the stream open. Clients read it with a streaming fetch (the
 * token goes in the Authorization header, which EventSource cannot send).
 */
import type { ChangeFeed } from '../changes/change-feed';
import { mayAccessClaim } from '../domain/access';
import { loadVisibleClaim } from './access';
import { authenticate, principalOf, tokenExpiryOf } from './auth';
import type { HttpContext } from './context';
import type { RouteSpec } from './route-spec';
import { validateQuery } from './validation';

/** A comment line this often keeps the stream open through proxies. */
const HEARTBEAT_MS = 15_000;

const eventsQuery = {
  properties: {
    claim: { type: 'string', minLength: 1, maxLength: 200, description: 'Only changes to this claim (404 if the caller may not see it).' },
  },
} as const;

export function eventsRoutes(ctx: HttpContext, feed: ChangeFeed, heartbeatMs = HEARTBEAT_MS): RouteSpec[] {
  const { deps, access } = ctx;
  return [
    {
      method: 'get',
      path: '/v1/events',
      operationId: 'streamEvents',
      summary: 'Live changes to the claims the caller may see (server-sent events)',
      description:
        'A `text/event-stream` that stays open: for each committed change to a claim the caller may see, `event: claim` with ' +
        '`data: {"id","status","substatus","version","at"}`; a comment line (`: keep-alive`) every 15 s. Changes made by any ' +
        'instance of the service reach every stream (PostgreSQL LISTEN/NOTIFY; in one process on SQLite). Read it with a ' +
        'streaming fetch and `Authorization: Bearer`. A stream carries changes from when it opened: reload, then follow. ' +
        'The stream ends when the token that opened it expires: sign in again and reopen it.',
      tag: 'claims',
      auth: true,
      query: eventsQuery,
      responses: {
        200: {
          description: 'The stream (never ends while the service runs)',
          content: { 'text/event-stream': { type: 'string', description: 'event: claim\\ndata: {"id":"…","status":"underReview","substatus":null,"version":7,"at":"…"}' } },
        },
      },
      problems: [400, 401, 404],
      handlers: [
        authenticate(deps.authenticator),
        async (req, res) => {
          const query = validateQuery<{ claim?: string }>(eventsQuery, req.query as Record<string, unknown>);
          const principal = principalOf(res);
          if (query.claim !== undefined) await loadVisibleClaim(deps.store, access, principal, query.claim);
          res.status(200).set({
            'Content-Type': 'text/event-stream; charset=utf-8',
            'Cache-Control': 'no-cache, no-transform',
            'X-Accel-Buffering': 'no',
          });
          res.flushHeaders();
          res.write(': connected\n\n');
          let ended = false;
          const stop = () => {
            if (ended) return;
            ended = true;
            clearInterval(beat);
            clearTimeout(expiry);
            unsubscribe();
          };
          const unsubscribe = feed.subscribe({
            change(change) {
              if (query.claim !== undefined && change.id !== query.claim) return;
              // The caller's role is looked up in the policy in effect now, as on every request.
              if (!mayAccessClaim(access.kindOf(principal), principal, change.owners)) return;
              const { id, status, substatus, version, at } = change;
              res.write(`event: claim\ndata: ${JSON.stringify({ id, status, substatus, version, at })}\n\n`);
            },
            end() {
              stop();
              res.end();
            },
          });
          const beat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
          beat.unref();
          // A stream is as good as the token that opened it: it ends when the token expires (the
          // client signs in again and reopens it), so an expired session hears of no more changes.
          const expiresAt = tokenExpiryOf(res);
          const expiry = setTimeout(
            () => {
              stop();
              res.end();
            },
            // On the service's clock, as tokens are checked. setTimeout's longest delay is about 24.8 days; tokens live at most JWT_MAX_LIFETIME_SECONDS.
            Math.min(Math.max(0, (expiresAt?.getTime() ?? Infinity) - deps.service.clock.now().getTime()), 2_147_483_647),
          );
          expiry.unref();
          req.on('close', stop);
          res.on('close', stop);
        },
      ],
    },
  ];
}
