/** `/v1/reports/assessment`: claims sent for incentive assessment, with what earnings and payout reporting needs. */
import type { Request } from 'express';
import { csvField } from '../backtest/backtest-report';
import type { ClaimRecord } from '../claims/claim-record';
import type { ClaimCursor } from '../claims/claim-store';
import type { Calendar } from '../calendar';
import { InputError } from '../domain/errors';
import { tenantKey } from '../domain/tenant-id';
import { nextLocalDate, parseInstantOrDate } from '../domain/instants';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { POLICY_READER_KINDS } from './policy-routes';
import type { RouteSpec } from './route-spec';
import { validateQuery } from './validation';

/** One claim sent for assessment. */
export interface AssessmentRow {
  claimId: string;
  partnerId: string;
  mpnId: string;
  tenantId: string;
  customerName: string;
  activity: string;
  /** Microsoft 365 workloads. */
  workloads: string[];
  /** Business Applications products with their subscriptions. */
  businessApplications: Array<{ product: string; subscriptionId: string }>;
  subscriptionIds: string[];
  /** Eligibility per incentive program, as recorded when the claim was sent for assessment. */
  programs: Array<{ code: string; eligible: boolean; summary: string }>;
  sentForAssessmentAt: string;
  policy: { id: string; version: string };
}

const DATE_OR_INSTANT = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2}))?$';

const assessmentQuery = {
  properties: {
    from: {
      type: 'string',
      anyOf: [{ type: 'string', format: 'date' }, { type: 'string', format: 'date-time' }],
      pattern: DATE_OR_INSTANT,
      description: 'Only claims sent for assessment at or after this instant, or from 00:00 of this date (policy time zone).',
    },
    to: {
      type: 'string',
      anyOf: [{ type: 'string', format: 'date' }, { type: 'string', format: 'date-time' }],
      pattern: DATE_OR_INSTANT,
      description: 'Only claims sent for assessment before this instant, or up to the end of this date (policy time zone).',
    },
    format: { enum: ['json', 'csv'], description: 'Default: JSON, or CSV when the Accept header prefers text/csv.' },
  },
} as const;

const rowSchema = {
  type: 'object',
  required: ['claimId', 'partnerId', 'mpnId', 'tenantId', 'customerName', 'activity', 'workloads', 'businessApplications', 'subscriptionIds', 'programs', 'sentForAssessmentAt', 'policy'],
  properties: {
    claimId: { type: 'string' },
    partnerId: { type: 'string' },
    mpnId: { type: 'string' },
    tenantId: { type: 'string' },
    customerName: { type: 'string' },
    activity: { type: 'string' },
    workloads: { type: 'array', items: { type: 'string' } },
    businessApplications: {
      type: 'array',
      items: { type: 'object', properties: { product: { type: 'string' }, subscriptionId: { type: 'string' } } },
    },
    subscriptionIds: { type: 'array', items: { type: 'string' } },
    programs: {
      type: 'array',
      items: { type: 'object', properties: { code: { type: 'string' }, eligible: { type: 'boolean' }, summary: { type: 'string' } } },
    },
    sentForAssessmentAt: { type: 'string', format: 'date-time' },
    policy: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
  },
} as const;

const reportSchema = {
  type: 'object',
  required: ['items', 'programs', 'from', 'to', 'generatedAt'],
  properties: {
    items: { type: 'array', items: rowSchema, description: 'By sentForAssessmentAt, then claimId.' },
    programs: { type: 'array', items: { type: 'string' }, description: 'Program codes: the CSV has an eligibility column for each.' },
    from: { type: ['string', 'null'] },
    to: { type: ['string', 'null'] },
    generatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const CSV_TYPE = 'text/csv; charset=utf-8; header=present';
/** Claims read per store query while scanning the approved ones. */
const PAGE_SIZE = 500;

export function reportRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const { service, store } = deps;
  return [
    {
      method: 'get',
      path: '/v1/reports/assessment',
      operationId: 'assessmentReport',
      summary: 'Claims sent for incentive assessment: tenant, subscriptions, programs and eligibility (JSON or CSV; reviewers, program managers)',
      description:
        'Approved claims whose consent window passed, with the eligibility per program recorded then. CSV (`format=csv` or ' +
        '`Accept: text/csv`): RFC 4180, a header line, one row per claim, a column per program (true/false), lists space-separated.',
      tag: 'reports',
      auth: true,
      query: assessmentQuery,
      responses: {
        200: {
          description: 'The claims, by the instant they were sent for assessment',
          content: { 'application/json': reportSchema, 'text/csv': { type: 'string' } },
        },
      },
      problems: [400, 401, 403],
      handlers: [
        authenticate(deps.authenticator),
        async (req, res) => {
          access.requireKind(principalOf(res), POLICY_READER_KINDS, 'read the assessment report');
          const query = validateQuery<{ from?: string; to?: string; format?: 'json' | 'csv' }>(
            assessmentQuery,
            req.query as Record<string, unknown>,
          );
          const { calendar } = service.policy;
          const from = query.from === undefined ? undefined : boundOf(query.from, 'from', calendar);
          const to = query.to === undefined ? undefined : boundOf(query.to, 'to', calendar);

          const rows: AssessmentRow[] = [];
          let after: ClaimCursor | undefined;
          for (;;) {
            const page = await store.listClaims({ status: 'approved', ...(after ? { after } : {}), limit: PAGE_SIZE });
            for (const claim of page) {
              const sentAt = claim.substatus === 'sentForAssessment' ? claim.assessment?.at : undefined;
              if (sentAt === undefined) continue;
              const ms = Date.parse(sentAt);
              if ((from && ms < from.getTime()) || (to && ms >= to.getTime())) continue;
              rows.push(assessmentRow(claim, sentAt));
            }
            const last = page.at(-1);
            if (page.length < PAGE_SIZE || !last) break;
            after = { createdAt: last.createdAt, id: last.id };
          }
          rows.sort((a, b) => a.sentForAssessmentAt.localeCompare(b.sentForAssessmentAt) || a.claimId.localeCompare(b.claimId));
          const programs = programCodes(service.policy.policy.incentivePrograms.map((p) => p.code), rows);

          if (wantsCsv(req, query.format)) {
            res.type(CSV_TYPE).set('Content-Disposition', 'attachment; filename="assessment.csv"').send(assessmentCsv(rows, programs));
            return;
          }
          res.json({
            items: rows,
            programs,
            from: from?.toISOString() ?? null,
            to: to?.toISOString() ?? null,
            generatedAt: service.clock.now().toISOString(),
          });
        },
      ],
    },
  ];
}

/** CSV when `format` says so, else when the Accept header prefers text/csv to JSON. */
export function wantsCsv(req: Request, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

/**
 * A `from` / `to` bound: an instant as given; a date is 00:00 of that day in the
 * policy's time zone (`from`), or 00:00 of the next day (`to`: the date is included;
 * none after the last date, when every instant is before the end of it).
 */
function boundOf(value: string, name: 'from' | 'to', calendar: Calendar): Date | undefined {
  const read = parseInstantOrDate(value);
  if (!read.ok) throw invalidBound(name, value);
  if ('instant' in read.value) return read.value.instant;
  const date = name === 'to' ? nextLocalDate(read.value.date) : read.value.date;
  return date === undefined ? undefined : calendar.startOfLocalDay(date);
}

const invalidBound = (name: string, value: string) =>
  new InputError('invalidQuery', `The query is not valid: $.${name}: ${JSON.stringify(value)} is not a date or an instant.`, `$.${name}`);

function assessmentRow(claim: ClaimRecord, sentAt: string): AssessmentRow {
  const fields = claim.snapshot.context.fields;
  const workloads: string[] = [];
  const businessApplications: AssessmentRow['businessApplications'] = [];
  for (const product of fields.products ?? []) {
    if (product.line === 'microsoft365') workloads.push(product.workload);
    else businessApplications.push({ product: product.product, subscriptionId: product.subscriptionId });
  }
  return {
    claimId: claim.id,
    partnerId: fields.partnerId,
    mpnId: fields.mpnId,
    // The tenant key, as conflicts and the tenantId filter compare tenants: one tenant, one spelling.
    tenantId: fields.customer?.tenantId ? tenantKey(fields.customer.tenantId) : '',
    customerName: fields.customer?.name ?? '',
    activity: fields.activity,
    workloads,
    businessApplications,
    subscriptionIds: businessApplications.map((b) => b.subscriptionId),
    programs: (claim.assessment?.programs ?? []).map((p) => ({ code: p.code, eligible: p.eligible, summary: p.summary })),
    sentForAssessmentAt: sentAt,
    policy: { id: claim.policy.id, version: claim.policy.version },
  };
}

/** The policy's program codes, then any other code a row was assessed on (an older policy version's). */
function programCodes(policyCodes: readonly string[], rows: readonly AssessmentRow[]): string[] {
  const codes = new Set(policyCodes);
  for (const row of rows) for (const program of row.programs) codes.add(program.code);
  return [...codes];
}

const FIXED_COLUMNS = [
  'claimId',
  'partnerId',
  'mpnId',
  'tenantId',
  'customerName',
  'activity',
  'workloads',
  'businessApplications',
  'subscriptionIds',
] as const;

/** RFC 4180: a header line, then one CRLF-ended row per claim; a program column is empty when the claim was not assessed on it. */
function assessmentCsv(rows: readonly AssessmentRow[], programs: readonly string[]): string {
  const header = [...FIXED_COLUMNS, ...programs, 'sentForAssessmentAt', 'policyId', 'policyVersion'];
  const lines = [header];
  for (const row of rows) {
    const eligible = new Map(row.programs.map((p) => [p.code, p.eligible]));
    lines.push([
      row.claimId,
      row.partnerId,
      row.mpnId,
      row.tenantId,
      row.customerName,
      row.activity,
      row.workloads.join(' '),
      row.businessApplications.map((b) => b.product).join(' '),
      row.subscriptionIds.join(' '),
      ...programs.map((code) => (eligible.has(code) ? String(eligible.get(code)) : '')),
      row.sentForAssessmentAt,
      row.policy.id,
      row.policy.version,
    ]);
  }
  return lines.map((line) => line.map(csvField).join(',') + '\r\n').join('');
}
