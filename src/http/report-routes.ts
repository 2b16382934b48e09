/**
 * Reports for reviewers and program managers: `/v1/reports/assessment` (claims sent for incentive
 * assessment, with what earnings and payout reporting needs), `/v1/reports/sla` (each deadline's
 * runs, met and fired, and the business days used) and `/v1/reports/shadow` (what shadow policy
 * versions would have decided differently). JSON or CSV.
 */
import type { Request } from 'express';
import { csvField } from '../backtest/backtest-report';
import type { ClaimRecord } from '../claims/claim-record';
import type { ClaimCursor, ClaimStore } from '../claims/claim-store';
import { slaReport, slaRuns, type SlaGroupBy, type SlaRow, type SlaRun } from '../claims/deadline-sla';
import type { DecisionRecord } from '../claims/decision-digest';
import { SHADOW_DIFFERENCE_KINDS } from '../claims/shadow';
import { shadowDifferenceRows, shadowReport } from '../evaluation/shadow-report';
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

const boundProperty = (what: string) => ({
  from: { ...assessmentQuery.properties.from, description: `Only ${what} at or after this instant, or from 00:00 of this date (policy time zone).` },
  to: { ...assessmentQuery.properties.to, description: `Only ${what} before this instant, or up to the end of this date (policy time zone).` },
});

const slaQuery = {
  properties: {
    ...boundProperty('deadline runs started'),
    productLine: { enum: ['microsoft365', 'businessApplications'], description: 'Only runs on claims that name this product line.' },
    groupBy: { enum: ['week', 'productLine'], description: 'Also the numbers per week (by its Monday) or per product line.' },
    format: assessmentQuery.properties.format,
  },
} as const;

const nullableNumber = { type: ['number', 'null'] } as const;

const slaRowSchema = {
  type: 'object',
  required: ['deadline', 'started', 'met', 'fired', 'paused', 'open', 'shareMet', 'medianBusinessDays', 'p90BusinessDays'],
  properties: {
    deadline: { type: 'string' },
    started: { type: 'integer', description: 'Runs started in the period.' },
    met: { type: 'integer' },
    fired: { type: 'integer' },
    paused: { type: 'integer', description: 'Runs that stood paused at least once.' },
    open: { type: 'integer', description: 'Runs still running or paused.' },
    shareMet: { ...nullableNumber, description: 'met / (met + fired); null when none ended.' },
    medianBusinessDays: { ...nullableNumber, description: 'Of the runs that ended; null when none did.' },
    p90BusinessDays: nullableNumber,
  },
} as const;

const slaSchema = {
  type: 'object',
  required: ['deadlines', 'groups', 'from', 'to', 'productLine', 'groupBy', 'generatedAt'],
  properties: {
    deadlines: { type: 'array', items: slaRowSchema, description: "Every deadline of the policy in effect, in its order, then any other a run has." },
    groups: {
      type: 'array',
      description: 'Per week or product line (groupBy), in order; each lists the deadlines started in it. Empty without groupBy.',
      items: { type: 'object', required: ['group', 'deadlines'], properties: { group: { type: 'string' }, deadlines: { type: 'array', items: slaRowSchema } } },
    },
    from: { type: ['string', 'null'] },
    to: { type: ['string', 'null'] },
    productLine: { type: ['string', 'null'] },
    groupBy: { type: ['string', 'null'] },
    generatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const shadowQuery = {
  properties: {
    ...boundProperty('transitions'),
    version: { type: 'string', maxLength: 200, description: 'Only this shadow version.' },
    format: assessmentQuery.properties.format,
  },
} as const;

const countsSchema = {
  type: 'object',
  required: [...SHADOW_DIFFERENCE_KINDS],
  properties: Object.fromEntries(SHADOW_DIFFERENCE_KINDS.map((kind) => [kind, { type: 'integer' }])),
} as const;

const policyRefSchema = { type: 'object', required: ['id', 'version'], properties: { id: { type: 'string' }, version: { type: 'string' } } } as const;

const shadowSchema = {
  type: 'object',
  required: ['versions', 'differences', 'from', 'to', 'generatedAt'],
  properties: {
    versions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['policy', 'transitions', 'claims', 'differences', 'examples'],
        properties: {
          policy: policyRefSchema,
          transitions: { type: 'integer', description: 'Transitions it decided differently on.' },
          claims: { type: 'integer' },
          differences: countsSchema,
          examples: {
            type: 'array',
            description: 'The first five differences of each kind, oldest first.',
            items: {
              type: 'object',
              required: ['claimId', 'at', 'event', 'kind', 'live', 'shadow', 'livePolicy'],
              properties: {
                claimId: { type: ['string', 'null'] },
                at: { type: 'string', format: 'date-time' },
                event: { type: 'string' },
                kind: { enum: [...SHADOW_DIFFERENCE_KINDS] },
                live: { description: 'What the live version decided (a state, a refusal code, a list).' },
                shadow: { description: 'What the shadow version would have decided.' },
                livePolicy: policyRefSchema,
              },
            },
          },
        },
      },
    },
    differences: { ...countsSchema, description: 'Differences by kind, all versions together.' },
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
    {
      method: 'get',
      path: '/v1/reports/sla',
      operationId: 'slaReport',
      summary: "Each deadline's SLA: runs started, met, fired and paused, the share met, median and 90th percentile of business days used (JSON or CSV)",
      description:
        'Derived from the claims\' histories (each run of a deadline replayed under the policy version each entry names). A run counts ' +
        'in the period it started in. Business days used: after the start date up to the date it was met (or its due date, when it ' +
        'fired), less business days it stood paused; percentiles interpolate linearly (numpy). `groupBy=week` adds a row set per ' +
        'week (its Monday, policy time zone), `groupBy=productLine` one per product line. CSV: one row per group and deadline ' +
        '(group `all` for the totals).',
      tag: 'reports',
      auth: true,
      query: slaQuery,
      responses: {
        200: { description: 'The deadlines, in policy order', content: { 'application/json': slaSchema, 'text/csv': { type: 'string' } } },
      },
      problems: [400, 401, 403],
      handlers: [
        authenticate(deps.authenticator),
        async (req, res) => {
          access.requireKind(principalOf(res), POLICY_READER_KINDS, 'read the SLA report');
          const query = validateQuery<{ from?: string; to?: string; productLine?: string; groupBy?: SlaGroupBy; format?: 'json' | 'csv' }>(
            slaQuery,
            req.query as Record<string, unknown>,
          );
          const { calendar, policy } = service.policy;
          const from = query.from === undefined ? undefined : boundOf(query.from, 'from', calendar);
          const to = query.to === undefined ? undefined : boundOf(query.to, 'to', calendar);
          const runs = (await allSlaRuns(store, (ref) => service.policies.get(ref))).filter((run) => {
            const ms = Date.parse(run.startedAt);
            if ((from && ms < from.getTime()) || (to && ms >= to.getTime())) return false;
            return query.productLine === undefined || run.productLines.includes(query.productLine);
          });
          const report = slaReport(runs, Object.keys(policy.deadlines), query.groupBy);
          if (wantsCsv(req, query.format)) {
            res.type(CSV_TYPE).set('Content-Disposition', 'attachment; filename="sla.csv"').send(slaCsv(report));
            return;
          }
          res.json({
            ...report,
            from: from?.toISOString() ?? null,
            to: to?.toISOString() ?? null,
            productLine: query.productLine ?? null,
            groupBy: query.groupBy ?? null,
            generatedAt: service.clock.now().toISOString(),
          });
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/reports/shadow',
      operationId: 'shadowReport',
      summary: 'What shadow policy versions would have decided differently: counts by difference kind, per version, with examples (JSON or CSV)',
      description:
        'From the decision log\'s `shadow` records (GET /v1/decisions?kind=shadow): a policy file with `shadow: true` is evaluated beside ' +
        'the live version on every transition and changes no claim. Differences: `state` (the state it would move to), `refusal`, ' +
        '`deficiencies`, `deadlines` (deadlines it would set or move) and `eligibility`. CSV: one row per difference.',
      tag: 'reports',
      auth: true,
      query: shadowQuery,
      responses: {
        200: { description: 'Per shadow version', content: { 'application/json': shadowSchema, 'text/csv': { type: 'string' } } },
      },
      problems: [400, 401, 403],
      handlers: [
        authenticate(deps.authenticator),
        async (req, res) => {
          access.requireKind(principalOf(res), POLICY_READER_KINDS, 'read the shadow report');
          const query = validateQuery<{ from?: string; to?: string; version?: string; format?: 'json' | 'csv' }>(
            shadowQuery,
            req.query as Record<string, unknown>,
          );
          const { calendar } = service.policy;
          const from = query.from === undefined ? undefined : boundOf(query.from, 'from', calendar);
          const to = query.to === undefined ? undefined : boundOf(query.to, 'to', calendar);
          const records = (await allShadowRecords(store)).filter((record) => {
            const ms = Date.parse(record.at);
            if ((from && ms < from.getTime()) || (to && ms >= to.getTime())) return false;
            return query.version === undefined || record.policy.version === query.version;
          });
          if (wantsCsv(req, query.format)) {
            const csv = shadowDifferenceRows(records).map((line) => line.map(csvField).join(',') + '\r\n').join('');
            res.type(CSV_TYPE).set('Content-Disposition', 'attachment; filename="shadow.csv"').send(csv);
            return;
          }
          res.json({
            ...shadowReport(records),
            from: from?.toISOString() ?? null,
            to: to?.toISOString() ?? null,
            generatedAt: service.clock.now().toISOString(),
          });
        },
      ],
    },
  ];
}

/** Every claim's deadline runs (one claim's history at a time). */
async function allSlaRuns(store: ClaimStore, policyOf: Parameters<typeof slaRuns>[3]): Promise<SlaRun[]> {
  const runs: SlaRun[] = [];
  for (const id of await store.allClaimIds()) {
    const claim = await store.getClaim(id);
    if (!claim) continue;
    const lines = [...new Set((claim.snapshot.context.fields.products ?? []).map((p) => p.line as string))].sort();
    runs.push(...slaRuns(id, await store.listHistory(id), lines, policyOf));
  }
  return runs;
}

/** Every shadow record of the decision log, oldest first. */
async function allShadowRecords(store: ClaimStore): Promise<DecisionRecord[]> {
  const records: DecisionRecord[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await store.pageAllDecisions({ kind: 'shadow', limit: PAGE_SIZE, ...(after !== undefined ? { after } : {}) });
    records.push(...page.map((d) => d.record));
    if (page.length < PAGE_SIZE) return records;
    after = page.at(-1)!.seq;
  }
}

const SLA_COLUMNS = ['group', 'deadline', 'started', 'met', 'fired', 'paused', 'open', 'shareMet', 'medianBusinessDays', 'p90BusinessDays'] as const;

function slaCsv(report: { deadlines: SlaRow[]; groups: Array<{ group: string; deadlines: SlaRow[] }> }): string {
  const line = (group: string, row: SlaRow) => [
    group,
    row.deadline,
    String(row.started),
    String(row.met),
    String(row.fired),
    String(row.paused),
    String(row.open),
    row.shareMet === null ? '' : String(row.shareMet),
    row.medianBusinessDays === null ? '' : String(row.medianBusinessDays),
    row.p90BusinessDays === null ? '' : String(row.p90BusinessDays),
  ];
  const lines: string[][] = [[...SLA_COLUMNS]];
  for (const row of report.deadlines) lines.push(line('all', row));
  for (const group of report.groups) for (const row of group.deadlines) lines.push(line(group.group, row));
  return lines.map((l) => l.map(csvField).join(',') + '\r\n').join('');
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
