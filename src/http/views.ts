/**
 * What the API shows of a claim and its parts: plain JSON views, never storage
 * details (file paths, hash chain internals beyond the entry hashes), with their schemas.
 */
import type { ClaimRecord, HistoryEntry } from '../claims/claim-record';
import type { OutboxRecord } from '../claims/claim-store';
import type { ConflictReport } from '../claims/conflicts';
import type { DecisionRecord } from '../claims/decision-digest';
import type { ClaimComment } from '../db/claim-comments';
import type { DisputeRecord, PoeDocument } from '../domain/claim-types';
import { STATUSES, SUBSTATUSES } from '../domain/claim-types';
import { claimFieldsSchema, productSchema } from '../machines/event-payloads';
import type { CompiledPolicy } from '../policies/compiled-policy';
import type { Policy } from '../rules/policy-types';
import { deadlineViews, statusTextOf, type Language } from './claim-outlook';

export const claimPath = (id: string) => `/v1/claims/${encodeURIComponent(id)}`;
export const poePath = (claimId: string, poeId: string) => `${claimPath(claimId)}/poe/${encodeURIComponent(poeId)}`;

export interface PoeView {
  id: string;
  fileName: string;
  customerSigned: boolean;
  signedOn: string | null;
  products: string[];
  describesWork: boolean;
  uploadedAt: string;
  uploadedBy: string;
  contentType: string | null;
  size: number | null;
  sha256: string | null;
  /** Where to download the file; null when the document was recorded without one. */
  href: string | null;
}

export function poeView(claimId: string, doc: PoeDocument): PoeView {
  return {
    id: doc.id,
    fileName: doc.fileName,
    customerSigned: doc.customerSigned,
    signedOn: doc.signedOn ?? null,
    products: [...doc.products],
    describesWork: doc.describesWork,
    uploadedAt: doc.uploadedAt,
    uploadedBy: doc.uploadedBy,
    contentType: doc.contentType ?? null,
    size: doc.size ?? null,
    sha256: doc.sha256 ?? null,
    href: doc.sha256 ? poePath(claimId, doc.id) : null,
  };
}

export function disputeView(dispute: DisputeRecord) {
  return {
    program: dispute.program,
    details: dispute.details,
    mpnId: dispute.mpnId,
    claimId: dispute.claimId,
    tenantId: dispute.tenantId,
    products: dispute.products,
    raisedAt: dispute.raisedAt,
    raisedBy: dispute.raisedBy,
    resolution: dispute.resolution ?? null,
  };
}

/**
 * A claim as every answer shows it, at `now`: its deadlines with the time left, its status
 * texts in `language`, and the deficiencies detected at its last change with their descriptions.
 * (The answers about one claim add `claimOutlook`: live deficiencies, actions, editable fields.)
 */
export function claimView(claim: ClaimRecord, at: { compiled: CompiledPolicy; inEffect: Policy; now: Date; language: Language }) {
  const context = claim.snapshot.context;
  const { policy } = at.compiled;
  const describe = (code: string) => ({ code, description: policy.deficiencies.find((d) => d.code === code)?.description ?? code });
  return {
    id: claim.id,
    version: claim.version,
    status: claim.status,
    substatus: claim.substatus,
    reason: claim.reason,
    statusText: statusTextOf([policy, at.inEffect], claim.state, at.language),
    overdue: [...claim.overdue],
    deficiencies: claim.deficiencies.map(describe),
    requestedDeficiencies: [...context.requestedDeficiencies],
    policy: { ...claim.policy },
    timeZone: policy.calendar.timeZone,
    fields: context.fields,
    poe: context.poe.map((doc) => poeView(claim.id, doc)),
    disputes: context.disputes.map(disputeView),
    deadlines: deadlineViews(at.compiled, claim.deadlines, at.now),
    assessment: claim.assessment,
    createdAt: claim.createdAt,
    updatedAt: claim.updatedAt,
  };
}

export function historyEntryView(entry: HistoryEntry) {
  return {
    seq: entry.seq,
    at: entry.at,
    actor: { role: entry.actor.role, ...(entry.actor.id !== undefined ? { id: entry.actor.id } : {}) },
    event: entry.event,
    from: entry.from === 'new' ? null : entry.from,
    to: entry.to,
    payload: entry.payload,
    policy: entry.policy,
    hash: entry.hash,
    prevHash: entry.prevHash,
  };
}

export function commentView(comment: ClaimComment) {
  return { seq: comment.seq, at: comment.at, event: comment.event, author: comment.author, text: comment.text };
}

/**
 * The conflict part of a claim view, for reviewers and program managers only (a
 * partner must not learn of another partner's claim): an empty list and no
 * settlement when the claim conflicts with none.
 */
export function conflictsView(report: ConflictReport | null) {
  return {
    conflicts: (report?.conflicts ?? []).map((c) => ({ ...c, products: [...c.products] })),
    settlement: report ? { ...report.settlement } : null,
  };
}

export function decisionView(record: DecisionRecord) {
  return {
    claimId: record.claimId,
    at: record.at,
    kind: record.kind,
    author: record.author ? { ...record.author } : null,
    policy: { ...record.policy },
    inputDigest: record.inputDigest,
    result: record.result,
    rulesFired: [...record.rulesFired],
  };
}

export function outboxView(message: OutboxRecord) {
  return {
    id: message.id,
    claimId: message.claimId,
    type: message.type,
    audience: message.audience,
    at: message.at,
    payload: message.payload,
    status: message.status,
    attempts: message.attempts,
    nextAttemptAt: message.nextAttemptAt,
    lastError: message.lastError,
    deliveredAt: message.deliveredAt,
  };
}

// ---- Schemas of the views (OpenAPI responses) ----

const instant = { type: 'string', format: 'date-time' } as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] });
const policyRef = {
  type: 'object',
  required: ['id', 'version'],
  properties: { id: { type: 'string' }, version: { type: 'string' } },
} as const;

export const poeViewSchema = {
  type: 'object',
  required: ['id', 'fileName', 'customerSigned', 'products', 'describesWork', 'uploadedAt', 'uploadedBy'],
  properties: {
    id: { type: 'string' },
    fileName: { type: 'string' },
    customerSigned: { type: 'boolean' },
    signedOn: nullable({ type: 'string', format: 'date' }),
    products: { type: 'array', items: { type: 'string' } },
    describesWork: { type: 'boolean' },
    uploadedAt: instant,
    uploadedBy: { type: 'string' },
    contentType: nullable({ type: 'string' }),
    size: nullable({ type: 'integer' }),
    sha256: nullable({ type: 'string' }),
    href: nullable({ type: 'string', description: 'Download URL of the file.' }),
  },
} as const;

export const disputeViewSchema = {
  type: 'object',
  description:
    'What a dispute records: program, details, and from the claim its MPN ID, claim ID, tenant ID and products ' +
    '(Business Applications: products with subscription IDs; Microsoft 365: workloads).',
  required: ['program', 'details', 'mpnId', 'claimId', 'tenantId', 'products', 'raisedAt', 'raisedBy'],
  properties: {
    program: { type: 'string' },
    details: { type: 'string' },
    mpnId: { type: 'string' },
    claimId: { type: 'string' },
    tenantId: { type: 'string' },
    products: { type: 'array', items: productSchema },
    raisedAt: instant,
    raisedBy: { type: 'string' },
    resolution: nullable({
      type: 'object',
      properties: { outcome: { type: 'string' }, comment: { type: 'string' }, at: instant, by: { type: 'string' } },
    }),
  },
} as const;

const conflictSchema = {
  type: 'object',
  description: "Another partner's claim in an active status on the same customer tenant that shares a product code with this one.",
  required: ['claimId', 'partnerId', 'status', 'products', 'newestValidPoe'],
  properties: {
    claimId: { type: 'string' },
    partnerId: { type: 'string' },
    status: { enum: STATUSES },
    products: {
      type: 'array',
      items: { type: 'string' },
      description:
        'The product codes both claims hold: Microsoft 365 workloads, Business Applications products, and `subscription:<id>` for a shared Business Applications subscription.',
    },
    newestValidPoe: nullable({
      type: 'string',
      format: 'date',
      description: "Signing date of the other claim's newest valid PoE (customer-signed and dated); null when it has none.",
    }),
  },
} as const;

const settlementSchema = {
  type: 'object',
  description: "How the policy's `conflicts.settle` would settle the conflict; the reviewer decides, the service changes no claim.",
  required: ['method', 'keep', 'explanation'],
  properties: {
    method: { enum: ['mostRecentValidPoe'] },
    keep: nullable({
      type: 'string',
      description: 'The claim to keep (the most recent valid PoE); null on a tie or when no claim has a valid PoE.',
    }),
    explanation: { type: 'string' },
  },
} as const;

const deficiencySchema = {
  type: 'object',
  required: ['code', 'description'],
  properties: { code: { type: 'string' }, description: { type: 'string' } },
} as const;

export const statusTextSchema = {
  type: 'object',
  required: ['title', 'meaning', 'next'],
  properties: {
    title: { type: 'string' },
    meaning: { type: 'string', description: 'What the status means.' },
    next: { type: 'string', description: 'What happens next, and what the partner can do.' },
  },
} as const;

const actionSchema = {
  type: 'object',
  required: ['event', 'allowed'],
  properties: {
    event: { type: 'string' },
    allowed: { type: 'boolean' },
    reason: { type: 'string', description: 'Why not, as a sentence (not allowed only).' },
    code: { type: 'string', description: 'The refusal code sending it now would answer (not allowed only).' },
  },
} as const;

export const claimViewSchema = {
  type: 'object',
  required: ['id', 'version', 'status', 'statusText', 'timeZone', 'deficiencies', 'fields', 'poe', 'deadlines', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    version: { type: 'integer', description: 'Increments with every change; the ETag is this number in quotes.' },
    status: { enum: STATUSES },
    substatus: nullable({ enum: SUBSTATUSES }),
    reason: nullable({ type: 'string' }),
    overdue: { type: 'array', items: { type: 'string' }, description: 'Escalated deadlines the claim is overdue on.' },
    deficiencies: {
      type: 'array',
      items: deficiencySchema,
      description:
        "PoE deficiencies the policy's rules detect (advisory: they never block a submission): on one claim's answers detected now, in lists as detected at the claim's last change.",
    },
    statusText: { ...statusTextSchema, description: "What the status means and what happens next, from the policy, in the language of Accept-Language (en, de)." },
    timeZone: { type: 'string', description: "The IANA time zone of the claim's policy calendar: business days and due dates are counted there." },
    actions: {
      type: 'array',
      items: actionSchema,
      description: "One claim's answers only: the events the caller may send now, and for the others why not (the refusal's sentence and code). What depends on a payload (a reason, codes, a file) is judged when it is sent.",
    },
    editableFields: {
      type: 'array',
      items: { type: 'string' },
      description: "One claim's answers only: the fields the caller may change with PATCH now (empty when the caller may not edit).",
    },
    disputeWindow: {
      type: 'object',
      required: ['open', 'daysLeft'],
      properties: { open: { type: 'boolean' }, daysLeft: { type: 'integer', minimum: 0, description: 'Calendar days after today up to the last day of the window.' } },
      description: "One claim's answers only, while it is rejected: whether it may still be disputed (the policy's window), and the days left.",
    },
    requestedDeficiencies: { type: 'array', items: { type: 'string' } },
    policy: policyRef,
    fields: { ...claimFieldsSchema, required: [] },
    poe: { type: 'array', items: poeViewSchema },
    disputes: { type: 'array', items: disputeViewSchema },
    deadlines: {
      type: 'array',
      description: 'Every run of a deadline on the claim; `running` and `paused` ones are open, with the time left.',
      items: {
        type: 'object',
        required: ['name', 'startedAt', 'due', 'dueAt', 'status', 'paused', 'unit', 'daysLeft', 'businessDaysLeft', 'hoursLeft', 'atRisk', 'overdue'],
        properties: {
          name: { type: 'string' },
          startedAt: instant,
          due: { type: 'string', format: 'date', description: 'Local due date: the last whole day (a paused clock moves it later when it resumes).' },
          dueAt: { ...instant, description: 'Instant it falls due: 00:00 local time after the due date.' },
          status: { enum: ['running', 'paused', 'fired', 'met'] },
          paused: { type: 'boolean', description: 'The clock stands still (the claim waits on the partner).' },
          unit: { enum: ['businessDays', 'days'], description: "What the policy counts this deadline in (its `businessDays` or `days`): business days of the policy's calendar, or calendar days." },
          daysLeft: { type: 'integer', minimum: 0, description: "Days after today up to the due date in `unit`, in the policy's time zone (paused: as if it resumed now); 0 when closed or past." },
          businessDaysLeft: { type: 'integer', minimum: 0, description: "Business days after today up to the due date, in the policy's time zone and calendar (paused: as if it resumed now); 0 when closed." },
          hoursLeft: { type: 'integer', minimum: 0, description: 'Whole hours until the due instant; 0 when closed or past.' },
          atRisk: { type: 'boolean', description: 'Running with at most a fifth of its duration left (at least one day).' },
          overdue: { type: 'boolean', description: 'Open past its due instant, or an escalated deadline that fell due and still flags the claim.' },
        },
      },
    },
    conflicts: {
      type: 'array',
      items: conflictSchema,
      description: 'Reviewers and program managers only (GET of one claim): the claims this one conflicts with.',
    },
    settlement: {
      ...nullable(settlementSchema),
      description: 'Reviewers and program managers only (GET of one claim): how the policy settles the conflicts; null without any.',
    },
    assessment: nullable({
      type: 'object',
      properties: {
        at: instant,
        programs: {
          type: 'array',
          items: {
            type: 'object',
            properties: { code: { type: 'string' }, eligible: { type: 'boolean' }, summary: { type: 'string' } },
          },
        },
      },
    }),
    createdAt: instant,
    updatedAt: instant,
  },
} as const;

export const claimListSchema = {
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: claimViewSchema },
    nextCursor: nullable({ type: 'string', description: 'Pass as `cursor` for the next page; null on the last page.' }),
  },
} as const;

export const historyEntrySchema = {
  type: 'object',
  required: ['seq', 'at', 'actor', 'event', 'from', 'to', 'payload', 'policy', 'hash', 'prevHash'],
  properties: {
    seq: { type: 'integer' },
    at: instant,
    actor: { type: 'object', properties: { role: { type: 'string' }, id: { type: 'string' } } },
    event: { type: 'string', description: 'The event, or `<deadline>Due` for a deadline that fell due.' },
    from: nullable({ type: 'string' }),
    to: { type: 'string' },
    payload: { type: 'object' },
    policy: policyRef,
    hash: { type: 'string' },
    prevHash: nullable({ type: 'string' }),
  },
} as const;

const decisionSchema = {
  type: 'object',
  description: 'A decision-log record: what was decided, under which policy version, from which inputs (digest), and which rules fired.',
  required: ['claimId', 'at', 'kind', 'author', 'policy', 'inputDigest', 'result', 'rulesFired'],
  properties: {
    claimId: nullable({ type: 'string' }),
    at: { ...instant, description: "When it was decided, by the service's clock (an evaluation: when it was answered; its `asOf` is in the result)." },
    kind: { enum: ['evaluation', 'transition', 'shadow'] },
    author: {
      ...nullable({
        type: 'object',
        required: ['role', 'id'],
        properties: { role: { type: 'string' }, id: nullable({ type: 'string' }) },
      }),
      description: "Who asked: the caller's role and subject (`system` for a deadline); null on records written before authors were kept.",
    },
    policy: policyRef,
    inputDigest: {
      type: 'string',
      description:
        'SHA-256 (hex) of the canonical JSON of the inputs; for a transition: event, actor role, payload, the claim version and history chain head before it. The same inputs give the same digest.',
    },
    result: {
      type: 'object',
      description:
        'A transition: `{ event, from, to, refused?: { code } }`; an evaluation: its verdicts; a shadow record: `{ event, seq, live, shadow, differences }` (what a shadow policy version would have decided on a transition).',
    },
    rulesFired: {
      type: 'array',
      items: { type: 'string' },
      description: 'For a transition: `deficiency:<code>` found, `requirement:<code>` met, `eligible:<program>`.',
    },
  },
} as const;

/** A page of a claim's decision log. */
export const decisionPageSchema = {
  type: 'object',
  required: ['items', 'nextCursor', 'next'],
  properties: {
    items: { type: 'array', items: decisionSchema },
    nextCursor: { ...nullable({ type: 'string' }), description: 'The cursor of the next page; null on the last page.' },
    next: { ...nullable({ type: 'string' }), description: 'The next page as a path with its query; null on the last page.' },
  },
} as const;

export const commentSchema = {
  type: 'object',
  required: ['seq', 'at', 'event', 'author', 'text'],
  properties: {
    seq: { type: 'integer' },
    at: instant,
    event: { type: 'string', description: '`comment`, or the event the comment came with.' },
    author: { type: 'object', properties: { role: { type: 'string' }, id: nullable({ type: 'string' }) } },
    text: { type: 'string' },
  },
} as const;

export const outboxMessageSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    claimId: { type: 'string' },
    type: { type: 'string' },
    audience: { enum: ['customer', 'partner', 'assessment'] },
    at: instant,
    payload: { type: 'object' },
    status: { enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    nextAttemptAt: nullable(instant),
    lastError: nullable({ type: 'string' }),
    deliveredAt: nullable(instant),
  },
} as const;
