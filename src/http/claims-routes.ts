/** `/v1/claims`: create, list, read, edit, act on a claim; its comments, history, decision log and disputes. */
import type { Request, RequestHandler, Response } from 'express';
import type { ClaimRecord } from '../claims/claim-record';
import { commentOf, commentsOf } from '../db/claim-comments';
import { DECISION_KINDS, type DecisionKind } from '../claims/decision-digest';
import { STATUSES, EVENT_TYPES, type EventType, type StateId } from '../domain/claim-types';
import { EVENT_PAYLOAD_SCHEMAS, claimFieldsSchema } from '../machines/event-payloads';
import { loadVisibleClaim } from './access';
import { claimOutlook, preferredLanguage } from './claim-outlook';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { decodeCursor, encodeCursor } from './cursor';
import { ConflictError } from '../domain/errors';
import { HttpError } from './errors';
import type { ActResult } from '../claims/claim-service';
import { checkIfMatch, IF_MATCH, IF_MATCH_OPTIONAL, noneMatchHits, representationTag, requireIfMatchHeader, withVersionCheck } from './etag';
import { IDEMPOTENCY_KEY, idempotent, keepAnswer, renderOnce, sendAnswer, type Answer } from './idempotency';
import { jsonBody } from './json-body';
import { policySourceOf } from './policy-routes';
import { param, type RouteSpec } from './route-spec';
import { validateInput, validateQuery } from './validation';
import {
  claimListSchema,
  claimPath,
  claimView,
  claimViewSchema,
  commentSchema,
  commentView,
  conflictsView,
  decisionPageSchema,
  decisionView,
  disputeView,
  disputeViewSchema,
  historyEntrySchema,
  historyEntryView,
} from './views';

/** Events that are not actions: they have their own routes, or only the service sends them. */
const NOT_ACTIONS: readonly EventType[] = ['create', 'edit', 'uploadPoe', 'comment', 'sendForAssessment'];
const ACTION_EVENTS = EVENT_TYPES.filter((event) => !NOT_ACTIONS.includes(event));
type ActionEvent = (typeof ACTION_EVENTS)[number];

const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100;
const DEFAULT_DECISIONS_LIMIT = 100;
const MAX_DECISIONS_LIMIT = 1000;

const json = (schema: object) => ({ 'application/json': schema });
const itemsOf = (schema: object) => ({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: schema } } });
const ETAG_HEADERS = ['ETag'];


interface ListQuery {
  status?: (typeof STATUSES)[number];
  overdue?: string;
  tenantId?: string;
  partnerId?: string;
  q?: string;
  conflicted?: boolean;
  limit?: number;
  cursor?: string;
}

export function claimsRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const { service, store } = deps;
  const auth = authenticate(deps.authenticator);
  const body = jsonBody(ctx.limits.jsonBodyBytes);
  const once = idempotent(ctx.idempotency);

  const policies = policySourceOf(deps);
  /**
   * Deadline names of every loaded version, read at each request: a version loaded
   * since start may add one, and a claim pinned to an older version may be overdue on
   * one the version in effect dropped.
   */
  const deadlineNames = (): string[] => {
    const names = new Set(Object.keys(service.policy.policy.deadlines));
    for (const ref of policies.list()) for (const name of Object.keys(policies.get(ref)?.policy.deadlines ?? {})) names.add(name);
    return [...names].sort();
  };

  const listQueryFor = (deadlines: readonly string[]) => ({
    properties: {
      status: { enum: STATUSES, description: 'Only claims with this status.' },
      overdue: {
        enum: deadlines,
        description: 'Only claims flagged overdue on this deadline (a deadline of any loaded policy version).',
      },
      tenantId: { type: 'string', format: 'uuid', description: "Only claims on this customer's tenant (compared without case)." },
      partnerId: { type: 'string', pattern: '^[0-9]{5,12}$', description: "Only this partner ID's claims." },
      q: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        description: 'Search: claims whose customer name or domain, claim name, tenant ID, partner ID or claim ID contains this text (without regard to case). Pages with `cursor` like any other filter.',
      },
      conflicted: {
        type: 'boolean',
        description:
          "Reviewers and program managers only: claims that are (true) or are not (false) in a conflict with another partner's claim (policy `conflicts`).",
      },
      limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
      cursor: { type: 'string', maxLength: 1000, description: 'nextCursor of the previous page.' },
    },
  });

  // One schema object per set of names, so ajv compiles it once (validation.ts caches by object).
  let listQueryCache: { key: string; schema: ReturnType<typeof listQueryFor> } | undefined;
  const listQuery = () => {
    const names = deadlineNames();
    const key = names.join('\n');
    if (listQueryCache?.key !== key) listQueryCache = { key, schema: listQueryFor(names) };
    return listQueryCache.schema;
  };

  // Documentation only: each action is validated against its own event's schema.
  const anyActionPayload = { anyOf: ACTION_EVENTS.map((event) => ({ $ref: `#/components/schemas/${schemaName(event)}` })) };

  const decisionsQuery = {
    properties: {
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_DECISIONS_LIMIT,
        default: DEFAULT_DECISIONS_LIMIT,
        description: 'At most this many records per page, oldest first.',
      },
      cursor: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', description: 'nextCursor of the previous page.' },
      kind: {
        enum: DECISION_KINDS,
        description:
          'Only records of this kind: `transition` (events applied or refused, deadlines fired), `evaluation` (POST /v1/evaluate) or `shadow` (what a shadow policy version would have decided differently).',
      },
    },
  } as const;

  /** The claim view at the service's now, in the caller's language (Accept-Language). */
  const viewerOf = (req: Request, res: Response) => {
    const now = service.clock.now();
    const language = preferredLanguage(req.get('accept-language'));
    res.vary('Accept-Language');
    // A claim pinned to a version this service has not loaded (its file gone since a restart) is
    // still shown, its texts and clocks read under the version in effect; it cannot be acted on.
    const pinned = (claim: ClaimRecord) => {
      try {
        return service.policyFor(claim, now);
      } catch (error) {
        if (error instanceof ConflictError && error.code === 'policyUnavailable') return undefined;
        throw error;
      }
    };
    const view = (claim: ClaimRecord) =>
      claimView(claim, { compiled: pinned(claim) ?? service.policy, inEffect: service.policy.policy, now, language });
    return {
      list: view,
      /** One claim, for its caller: with live deficiencies, actions, editable fields and the dispute window. */
      one: async (claim: ClaimRecord) => ({
        ...view(claim),
        ...(pinned(claim) ? await claimOutlook(service, claim, principalOf(res), now, language) : {}),
      }),
    };
  };

  /** Reviewers and program managers see conflicts; a partner must not learn of another partner's claim. */
  /** PATCH and actions: the caller's If-Match must name the current version; the service checks it again in its transaction. */
  const sendEvent = async (req: Request, res: Response, event: 'edit' | ActionEvent) => {
    requireIfMatchHeader(req);
    const principal = principalOf(res);
    const claim = await loadVisibleClaim(store, access, principal, param(req, 'id'));
    const expectedVersion = checkIfMatch(req, claim.version, { required: true });
    const payload = validateInput<Record<string, unknown>>(EVENT_PAYLOAD_SCHEMAS[event], req.body);
    const answer = renderOnce(async ({ claim: changed }: ActResult): Promise<Answer> => ({
      status: 200,
      etag: changed.version,
      body: await viewerOf(req, res).one(changed),
    }));
    const result = await withVersionCheck(expectedVersion, () =>
      service.act(claim.id, event, principal, payload, { expectedVersion, ...keepAnswer(res, answer) }),
    );
    sendAnswer(res, await answer(result));
  };

  const seesConflicts = (principal: Parameters<typeof access.kindOf>[0]) => {
    const kind = access.kindOf(principal);
    return kind === 'reviewer' || kind === 'internal';
  };

  const knownAction: RequestHandler = (req, _res, next) => {
    const event = param(req, 'event');
    if (!(ACTION_EVENTS as readonly string[]).includes(event)) {
      throw new HttpError('unknownAction', `There is no action "${event}"; actions are ${ACTION_EVENTS.join(', ')}.`, {
        actions: ACTION_EVENTS,
      });
    }
    next();
  };

  return [
    {
      method: 'post',
      path: '/v1/claims',
      operationId: 'createClaim',
      summary: 'Create a claim (status editing)',
      description: "A partner's partnerId defaults to the token's and must equal it.",
      tag: 'claims',
      auth: true,
      headers: [IDEMPOTENCY_KEY],
      body: { required: true, content: json(claimFieldsSchema) },
      responses: { 201: { description: 'Created', content: json(claimViewSchema), headers: ['ETag', 'Location'] } },
      problems: [400, 401, 403, 409, 413, 415, 422],
      handlers: [
        auth,
        ...body,
        once,
        async (req, res) => {
          const principal = principalOf(res);
          let fields: unknown = req.body;
          if (access.kindOf(principal) === 'partner' && isObject(fields) && fields.partnerId === undefined && principal.partnerId) {
            fields = { ...fields, partnerId: principal.partnerId };
          }
          const valid = validateInput<Record<string, unknown>>(claimFieldsSchema, fields);
          const answer = renderOnce(async ({ claim }: ActResult): Promise<Answer> => ({
            status: 201,
            etag: claim.version,
            location: claimPath(claim.id),
            body: await viewerOf(req, res).one(claim),
          }));
          sendAnswer(res, await answer(await service.create(principal, valid, keepAnswer(res, answer))));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/claims',
      operationId: 'listClaims',
      summary: 'List the claims the caller may see, oldest first',
      description:
        'Partners see their partner ID\'s claims, customers their tenant\'s, reviewers and program managers all. ' +
        'A filter outside what the caller may see gives an empty list.',
      tag: 'claims',
      auth: true,
      get query() {
        return listQuery();
      },
      responses: { 200: { description: 'A page of claims', content: json(claimListSchema) } },
      problems: [400, 401, 403],
      handlers: [
        auth,
        async (req, res) => {
          const query = validateQuery<ListQuery>(listQuery(), req.query as Record<string, unknown>);
          const limit = query.limit ?? DEFAULT_PAGE_SIZE;
          let conflict: { conflicted: boolean; activeStatuses: readonly StateId[] } | undefined;
          if (query.conflicted !== undefined) {
            access.requireKind(principalOf(res), ['reviewer', 'internal'], 'list claims by conflict');
            const rule = service.policy.policy.conflicts;
            // A policy without a conflicts section flags none: no claim is conflicted.
            if (!rule && query.conflicted) {
              res.json({ items: [], nextCursor: null });
              return;
            }
            if (rule) conflict = { conflicted: query.conflicted, activeStatuses: rule.activeStatuses };
          }
          const filter = access.scope(principalOf(res), {
            ...(conflict ? { conflict } : {}),
            ...(query.status ? { status: query.status } : {}),
            ...(query.overdue ? { overdue: query.overdue } : {}),
            ...(query.tenantId ? { tenantId: query.tenantId } : {}),
            ...(query.partnerId ? { partnerId: query.partnerId } : {}),
            ...(query.q ? { q: query.q } : {}),
            ...(query.cursor !== undefined ? { after: decodeCursor(query.cursor) } : {}),
            limit: limit + 1,
          });
          const found = filter ? await store.listClaims(filter) : [];
          const page = found.slice(0, limit);
          const last = page.at(-1);
          res.json({
            items: page.map(viewerOf(req, res).list),
            nextCursor: found.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
          });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/claims/:id',
      operationId: 'getClaim',
      summary: 'Read a claim',
      description:
        'A claim the caller may not see is answered like a missing one (404). Reviewers and program managers also get ' +
        "`conflicts` and `settlement`: other partners' active claims on the same tenant and products, derived when read.",
      tag: 'claims',
      auth: true,
      headers: [
        {
          name: 'If-None-Match',
          required: false,
          description:
            "304 while the answer is unchanged. A read's ETag is `\"<version>-<digest>\"`: it covers the whole answer, so it changes " +
            'when the claim changes and also when time passing changes its time left, at-risk or overdue marks, deficiencies or ' +
            "actions (and, for reviewers and program managers, its conflicts). If-Match accepts it too and compares the version part.",
        },
      ],
      responses: {
        200: { description: 'The claim', content: json(claimViewSchema), headers: ETAG_HEADERS },
        304: { description: 'Not modified since the ETag given in If-None-Match', headers: ETAG_HEADERS },
      },
      problems: [401, 404],
      handlers: [
        auth,
        async (req, res) => {
          const principal = principalOf(res);
          const claim = await loadVisibleClaim(store, access, principal, param(req, 'id'));
          // Reviewers and program managers also see conflicts, which change with other claims.
          const body = seesConflicts(principal)
            ? { ...(await viewerOf(req, res).one(claim)), ...conflictsView(await service.conflicts(claim)) }
            : await viewerOf(req, res).one(claim);
          // The tag covers the whole answer (time left, marks, actions, conflicts), not only the version.
          const tag = representationTag(claim.version, body);
          res.set('ETag', tag);
          if (noneMatchHits(req.get('if-none-match'), tag)) {
            res.status(304).end();
            return;
          }
          res.json(body);
        },
      ],
    },
    {
      method: 'patch',
      path: '/v1/claims/:id',
      operationId: 'editClaim',
      summary: 'Change claim fields (the edit event)',
      description: "Top-level fields are replaced. Which fields may change depends on the claim's status (policy editableFields).",
      tag: 'claims',
      auth: true,
      headers: [IF_MATCH],
      body: {
        required: true,
        content: { 'application/json': EVENT_PAYLOAD_SCHEMAS.edit, 'application/merge-patch+json': EVENT_PAYLOAD_SCHEMAS.edit },
      },
      responses: { 200: { description: 'The claim after the change', content: json(claimViewSchema), headers: ETAG_HEADERS } },
      problems: [400, 401, 403, 404, 409, 412, 413, 415, 428],
      handlers: [
        auth,
        ...body,
        (req, res) => sendEvent(req, res, 'edit'),
      ],
    },
    {
      method: 'post',
      path: '/v1/claims/:id/actions/:event',
      operationId: 'actOnClaim',
      summary: 'Send an event to a claim (submit, startReview, requestInfo, approve, reject, dispute, …)',
      description:
        'The body is the event\'s payload: ' +
        ACTION_EVENTS.map((event) => `${event}: #/components/schemas/${schemaName(event)}`).join('; ') +
        '. Who may send each event comes from the policy.',
      tag: 'claims',
      auth: true,
      params: { event: { enum: ACTION_EVENTS } },
      headers: [IF_MATCH, IDEMPOTENCY_KEY],
      body: { required: false, content: json(anyActionPayload) },
      responses: { 200: { description: 'The claim after the event', content: json(claimViewSchema), headers: ETAG_HEADERS } },
      problems: [400, 401, 403, 404, 409, 412, 413, 415, 422, 428],
      handlers: [
        auth,
        knownAction,
        ...body,
        once,
        (req, res) => sendEvent(req, res, param(req, 'event') as ActionEvent),
      ],
    },
    {
      method: 'get',
      path: '/v1/claims/:id/comments',
      operationId: 'listComments',
      summary: "A claim's comments, oldest first (comment events and comments given with other events)",
      tag: 'claims',
      auth: true,
      responses: { 200: { description: 'The comments', content: json(itemsOf(commentSchema)) } },
      problems: [401, 404],
      handlers: [
        auth,
        async (req, res) => {
          const claim = await loadVisibleClaim(store, access, principalOf(res), param(req, 'id'));
          const comments = store.listComments
            ? await store.listComments(claim.id)
            : commentsOf(await service.history(claim.id));
          res.json({ items: comments.map(commentView) });
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/claims/:id/comments',
      operationId: 'addComment',
      summary: 'Comment on a claim (the comment event)',
      tag: 'claims',
      auth: true,
      headers: [IF_MATCH_OPTIONAL, IDEMPOTENCY_KEY],
      body: { required: true, content: json(EVENT_PAYLOAD_SCHEMAS.comment) },
      responses: { 201: { description: 'The comment', content: json(commentSchema), headers: ETAG_HEADERS } },
      problems: [400, 401, 403, 404, 409, 412, 413, 415, 422],
      handlers: [
        auth,
        ...body,
        once,
        async (req, res) => {
          const principal = principalOf(res);
          const claim = await loadVisibleClaim(store, access, principal, param(req, 'id'));
          const expectedVersion = checkIfMatch(req, claim.version, { required: false });
          const payload = validateInput<Record<string, unknown>>(EVENT_PAYLOAD_SCHEMAS.comment, req.body);
          const answer = ({ claim: changed, entries }: ActResult): Answer => {
            const comment = commentOf(entries.at(-1)!);
            if (!comment) throw new Error('the comment event recorded no comment');
            return { status: 201, etag: changed.version, body: commentView(comment) };
          };
          const result = await withVersionCheck(expectedVersion, () =>
            service.act(claim.id, 'comment', principal, payload, { expectedVersion, ...keepAnswer(res, answer) }),
          );
          sendAnswer(res, answer(result));
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/claims/:id/history',
      operationId: 'getHistory',
      summary: "A claim's history: every event and deadline, hash-chained",
      tag: 'claims',
      auth: true,
      responses: { 200: { description: 'The history, oldest first', content: json(itemsOf(historyEntrySchema)) } },
      problems: [401, 404],
      handlers: [
        auth,
        async (req, res) => {
          const claim = await loadVisibleClaim(store, access, principalOf(res), param(req, 'id'));
          const entries = await service.history(claim.id);
          res.json({ items: entries.map(historyEntryView) });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/claims/:id/decisions',
      operationId: 'listDecisions',
      summary: "A claim's decision log, oldest first, a page at a time: every transition, refusal and deadline firing, and evaluations",
      description:
        'Each record names the policy id and version that decided, its author, a digest of the inputs, the result, and the rules ' +
        'that fired. Oldest first, in the order written; `nextCursor` (and the `next` link) give the following page, null on the last. ' +
        '`kind=transition` leaves out evaluations. Visible to whoever may see the claim.',
      tag: 'claims',
      auth: true,
      query: decisionsQuery,
      responses: { 200: { description: 'A page of decision records, oldest first', content: json(decisionPageSchema) } },
      problems: [400, 401, 404],
      handlers: [
        auth,
        async (req, res) => {
          const claim = await loadVisibleClaim(store, access, principalOf(res), param(req, 'id'));
          const query = validateQuery<{ limit?: number; cursor?: string; kind?: DecisionKind }>(
            decisionsQuery,
            req.query as Record<string, unknown>,
          );
          const limit = query.limit ?? DEFAULT_DECISIONS_LIMIT;
          const found = await store.pageDecisions(claim.id, {
            limit: limit + 1,
            ...(query.kind ? { kind: query.kind } : {}),
            ...(query.cursor !== undefined ? { after: Number(query.cursor) } : {}),
          });
          const page = found.slice(0, limit);
          const nextCursor = found.length > limit ? String(page.at(-1)!.seq) : null;
          const next =
            nextCursor === null
              ? null
              : `${claimPath(claim.id)}/decisions?${new URLSearchParams({ limit: String(limit), cursor: nextCursor, ...(query.kind ? { kind: query.kind } : {}) })}`;
          res.json({ items: page.map((d) => decisionView(d.record)), nextCursor, next });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/claims/:id/disputes',
      operationId: 'listDisputes',
      summary: "A claim's disputes, with what the program needs of each",
      tag: 'claims',
      auth: true,
      responses: { 200: { description: 'The disputes, oldest first', content: json(itemsOf(disputeViewSchema)) } },
      problems: [401, 404],
      handlers: [
        auth,
        async (req, res) => {
          const claim = await loadVisibleClaim(store, access, principalOf(res), param(req, 'id'));
          res.json({ items: claim.snapshot.context.disputes.map(disputeView) });
        },
      ],
    },
  ];
}

/** Component name of an event's payload schema (`requestInfo` → `RequestInfoPayload`). */
export const schemaName = (event: string) => `${event[0]!.toUpperCase()}${event.slice(1)}Payload`;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
