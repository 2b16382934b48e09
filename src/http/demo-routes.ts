/**
 * `/v1/demo/clock`: demo mode's virtual clock, which a dashboard moves forward to watch
 * deadlines fall due (next business day, next deadline, an instant). 404 outside demo mode.
 * Every signed-in role reads it; only the people running the demo move it: roles of kind
 * `reviewer` or `internal` (a partner or customer would otherwise close others' windows).
 */
import { ConflictError, InputError } from '../domain/errors';
import { parseInstant } from '../domain/instants';
import type { SettableClock } from '../system-clock';
import type { RoleKind } from '../rules/policy-types';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { HttpError } from './errors';
import { jsonBody } from './json-body';
import type { RouteSpec } from './route-spec';
import { validateInput } from './validation';

/** A business day in the demo starts at this local hour. */
const WORKDAY_START_HOUR = 9;

/** The role kinds that may move the demo clock: those who run the demo. */
const CLOCK_MOVERS: readonly RoleKind[] = ['reviewer', 'internal'];

const clockSchema = {
  type: 'object',
  required: ['now'],
  properties: {
    now: { type: 'string', format: 'date-time', description: "The demo clock's instant." },
    canMove: {
      type: 'boolean',
      description: 'Whether the caller may move the clock (GET only): roles of kind `reviewer` or `internal`.',
    },
    fired: { type: 'integer', minimum: 0, description: 'Deadlines that fell due and fired on the way (POST only).' },
  },
} as const;

const moveSchema = {
  description: 'Either `advance` or `to`.',
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['advance'],
      properties: {
        advance: {
          enum: ['nextBusinessDay', 'nextDeadline'],
          description: '`nextBusinessDay`: 09:00 of the next business day (policy calendar); `nextDeadline`: the instant the earliest running deadline falls due.',
        },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['to'],
      properties: { to: { type: 'string', format: 'date-time', description: 'An instant later than the clock.' } },
    },
  ],
} as const;

export function demoRoutes(ctx: HttpContext, clock: SettableClock | undefined): RouteSpec[] {
  const { deps, access } = ctx;
  const { service, store } = deps;
  const demoOnly = () => {
    if (!clock) throw new HttpError('notInDemoMode', 'The demo clock exists only in demo mode: start the service with `cpor serve --demo`.');
    return clock;
  };

  /** The earliest instant a running deadline of any claim falls due, if any. */
  const nextDeadline = async (): Promise<Date | undefined> => {
    // The store's scheduler query, in a transaction that writes nothing (the demo runs one instance).
    const first = await store.transaction((tx) => tx.takeDueClaim('9999-12-31T23:59:59.999Z', new Set()));
    const dueAt = first?.nextDueAt;
    return dueAt ? new Date(dueAt) : undefined;
  };

  return [
    {
      method: 'get',
      path: '/v1/demo/clock',
      operationId: 'getDemoClock',
      summary: "Demo mode: the virtual clock's instant",
      tag: 'demo',
      auth: true,
      responses: { 200: { description: 'The instant', content: { 'application/json': clockSchema } } },
      problems: [401, 404],
      handlers: [
        authenticate(deps.authenticator),
        (_req, res) => {
          const kind = access.kindOf(principalOf(res));
          res.json({ now: demoOnly().now().toISOString(), canMove: kind !== undefined && CLOCK_MOVERS.includes(kind) });
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/demo/clock',
      operationId: 'moveDemoClock',
      summary: 'Demo mode: move the virtual clock forward and fire the deadlines that fall due',
      description:
        'Roles of kind `reviewer` or `internal` only (the people running the demo); other roles get 403 `forbiddenRole` ' +
        'and see the clock read-only. The clock only moves forward; it runs on from the new instant. ' +
        'Deadlines due by then fire at their due instants, as the scheduler would.',
      tag: 'demo',
      auth: true,
      body: { required: true, content: { 'application/json': moveSchema } },
      responses: { 200: { description: 'The new instant', content: { 'application/json': clockSchema } } },
      problems: [400, 401, 403, 404, 409],
      handlers: [
        authenticate(deps.authenticator),
        (_req, res, next) => {
          demoOnly();
          access.requireKind(principalOf(res), CLOCK_MOVERS, 'move the demo clock');
          next();
        },
        ...jsonBody(ctx.limits.jsonBodyBytes),
        async (req, res) => {
          const demo = demoOnly();
          const body = validateInput<{ advance?: 'nextBusinessDay' | 'nextDeadline'; to?: string }>(moveSchema, req.body);
          const now = demo.now();
          let to: Date;
          if (body.to !== undefined) {
            const parsed = parseInstant(body.to);
            if (!parsed.ok) throw new InputError('invalidInstant', `$.to ${parsed.problem}.`, '$.to');
            to = parsed.value;
            if (to.getTime() <= now.getTime()) {
              throw new InputError('invalidPayload', `The demo clock only moves forward: ${body.to} is not after ${now.toISOString()}.`, '$.to');
            }
          } else if (body.advance === 'nextBusinessDay') {
            const { calendar } = service.policy;
            let day = calendar.addDays(calendar.localDate(now), 1);
            while (!calendar.isBusinessDay(day)) day = calendar.addDays(day, 1);
            to = new Date(calendar.startOfLocalDay(day).getTime() + WORKDAY_START_HOUR * 3_600_000);
          } else {
            const due = await nextDeadline();
            if (!due) throw new ConflictError('noPendingDeadline', 'No claim has a running deadline: there is no next deadline to move to.');
            to = due.getTime() > now.getTime() ? due : now;
          }
          demo.set(to);
          const fired = await service.fireDue(to);
          res.json({ now: to.toISOString(), fired: fired.length });
        },
      ],
    },
  ];
}
