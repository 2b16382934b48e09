/** `/v1/outbox`: the messages the service emitted with transitions, and their delivery (reviewers, program managers). */
import type { DeliveryStatus } from '../claims/claim-store';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import type { RouteSpec } from './route-spec';
import { validateQuery } from './validation';
import { outboxMessageSchema, outboxView } from './views';

const outboxQuery = {
  properties: {
    claimId: { type: 'string', minLength: 1, maxLength: 200, description: "Only this claim's messages." },
    status: { enum: ['pending', 'delivered', 'failed'], description: 'Only messages with this delivery status.' },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 25 },
  },
} as const;

export function outboxRoutes(ctx: HttpContext): RouteSpec[] {
  const auth = authenticate(ctx.deps.authenticator);
  return [
    {
      method: 'get',
      path: '/v1/outbox',
      operationId: 'listOutbox',
      summary: 'Messages emitted with transitions (consent notices, rejections, assessments) and their delivery',
      tag: 'events',
      auth: true,
      query: outboxQuery,
      responses: {
        200: {
          description: 'Messages, oldest first',
          content: {
            'application/json': { type: 'object', required: ['items'], properties: { items: { type: 'array', items: outboxMessageSchema } } },
          },
        },
      },
      problems: [400, 401, 403],
      handlers: [
        auth,
        async (req, res) => {
          ctx.access.requireKind(principalOf(res), ['reviewer', 'internal'], 'read the outbox');
          const query = validateQuery<{ claimId?: string; status?: DeliveryStatus; limit?: number }>(
            outboxQuery,
            req.query as Record<string, unknown>,
          );
          const messages = await ctx.deps.store.listOutbox({
            ...(query.claimId ? { claimId: query.claimId } : {}),
            ...(query.status ? { status: query.status } : {}),
            limit: query.limit ?? 25,
          });
          res.json({ items: messages.map(outboxView) });
        },
      ],
    },
  ];
}
