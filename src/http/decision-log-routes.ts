/** `GET /v1/decisions`: the decision log across claims (or one claim's), a page at a time, for reviewers and program managers. */
import { DECISION_KINDS, type DecisionKind, type DecisionRecord } from '../claims/decision-digest';
import { csvField } from '../backtest/backtest-report';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { POLICY_READER_KINDS } from './policy-routes';
import { wantsCsv } from './report-routes';
import type { RouteSpec } from './route-spec';
import { validateQuery } from './validation';
import { decisionPageSchema, decisionView } from './views';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const decisionLogQuery = {
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'At most this many records per page, oldest first.' },
    cursor: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', description: 'nextCursor of the previous page.' },
    kind: {
      enum: DECISION_KINDS,
      description: 'Only records of this kind: `transition`, `evaluation` or `shadow` (what a shadow policy version would have decided differently).',
    },
    claimId: { type: 'string', minLength: 1, maxLength: 200, description: "Only this claim's records." },
    format: { enum: ['json', 'csv'], description: 'Default: JSON, or CSV (this page) when the Accept header prefers text/csv.' },
  },
} as const;

type DecisionLogQuery = { limit?: number; cursor?: string; kind?: DecisionKind; claimId?: string; format?: 'json' | 'csv' };

const CSV_COLUMNS = ['seq', 'at', 'claimId', 'kind', 'authorRole', 'authorId', 'policyId', 'policyVersion', 'event', 'outcome', 'rulesFired', 'inputDigest'];

export function decisionLogRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const { store } = deps;
  return [
    {
      method: 'get',
      path: '/v1/decisions',
      operationId: 'listDecisionLog',
      summary: 'The decision log across claims (or of one claim), oldest first, a page at a time (JSON or CSV; reviewers, program managers)',
      description:
        'Every transition, refusal, deadline firing, evaluation and shadow difference, in the order written, each with the policy ' +
        'version that decided, its author, input digest, result and the rules that fired. `nextCursor` (and `next`) give the following ' +
        'page. CSV: this page, one row per record (`outcome`: the state moved to, the refusal, or the shadow differences).',
      tag: 'reports',
      auth: true,
      query: decisionLogQuery,
      responses: {
        200: {
          description: 'A page of decision records, oldest first',
          content: { 'application/json': decisionPageSchema, 'text/csv': { type: 'string' } },
        },
      },
      problems: [400, 401, 403],
      handlers: [
        authenticate(deps.authenticator),
        async (req, res) => {
          access.requireKind(principalOf(res), POLICY_READER_KINDS, 'read the decision log');
          const query = validateQuery<DecisionLogQuery>(decisionLogQuery, req.query as Record<string, unknown>);
          const limit = query.limit ?? DEFAULT_LIMIT;
          const page = { limit: limit + 1, ...(query.kind ? { kind: query.kind } : {}), ...(query.cursor !== undefined ? { after: Number(query.cursor) } : {}) };
          const found = query.claimId !== undefined ? await store.pageDecisions(query.claimId, page) : await store.pageAllDecisions(page);
          const items = found.slice(0, limit);
          const nextCursor = found.length > limit ? String(items.at(-1)!.seq) : null;
          if (wantsCsv(req, query.format)) {
            const rows = [CSV_COLUMNS, ...items.map((d) => csvRow(d.seq, d.record))];
            res
              .type('text/csv; charset=utf-8; header=present')
              .set('Content-Disposition', 'attachment; filename="decisions.csv"')
              .send(rows.map((row) => row.map(csvField).join(',') + '\r\n').join(''));
            return;
          }
          const params = (cursor: string) => {
            const { format: _format, cursor: _cursor, ...rest } = query;
            return new URLSearchParams({ ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)])), limit: String(limit), cursor });
          };
          res.json({ items: items.map((d) => decisionView(d.record)), nextCursor, next: nextCursor === null ? null : `/v1/decisions?${params(nextCursor)}` });
        },
      ],
    },
  ];
}

function csvRow(seq: number, record: DecisionRecord): string[] {
  const result = (record.result ?? {}) as Record<string, unknown>;
  return [
    String(seq),
    record.at,
    record.claimId ?? '',
    record.kind,
    record.author?.role ?? '',
    record.author?.id ?? '',
    record.policy.id,
    record.policy.version,
    typeof result.event === 'string' ? result.event : typeof (result.event as { type?: unknown })?.type === 'string' ? String((result.event as { type: string }).type) : '',
    outcomeOf(record.kind, result),
    record.rulesFired.join(' '),
    record.inputDigest,
  ];
}

/** A word for what came of a decision: the state moved to or the refusal (transition), the differences (shadow), the status (evaluation). */
function outcomeOf(kind: DecisionKind, result: Record<string, unknown>): string {
  if (kind === 'shadow') return ((result.differences as Array<{ kind: string }> | undefined) ?? []).map((d) => d.kind).join(' ');
  if (kind === 'transition') {
    const refused = result.refused as { code?: string } | undefined;
    return refused?.code ? `refused ${refused.code}` : String(result.to ?? '');
  }
  return String(result.status ?? '');
}
