/**
 * The test harness's factories, used by every suite: who acts (actors), what they send
 * (claim fields, PoE payloads and files), and claims brought to each status through the real
 * service. Each factory gives valid defaults; overrides replace whole top-level fields.
 */
import type { ActOptions, ClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord } from '../../src/claims/claim-record';
import type { Actor, ClaimFields } from '../../src/domain/claim-types';
import type { EventPayloads } from '../../src/machines/event-payloads';
import { claimFields, poeDocument } from './claim-factory';

export { claimFields, poeDocument };

export const PARTNER_ID = '4512345';
export const OTHER_PARTNER_ID = '4599999';
export const TENANT_ID = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';
export const OTHER_TENANT_ID = '0b7e9c2a-3d4f-4e5a-8b6c-7d8e9f0a1b2c';

/** A partner user (incentivesAdmin) acting for `partnerId`. */
export function partnerOf(partnerId: string = PARTNER_ID, overrides: Partial<Actor> = {}): Actor {
  return { role: 'incentivesAdmin', partnerId, id: 'li@fabrikam.com', ...overrides };
}

/** A customer user of `tenantId`. */
export function customerOf(tenantId: string = TENANT_ID, overrides: Partial<Actor> = {}): Actor {
  return { role: 'customer', tenantId, id: 'ana@contoso.com', ...overrides };
}

/** The actors the tests use, by name (also the HTTP callers: each is a token's claims). */
export const ACTORS = {
  partner: partnerOf(PARTNER_ID),
  partnerAdmin: partnerOf(PARTNER_ID, { role: 'globalAdmin', id: 'admin@fabrikam.com' }),
  otherPartner: partnerOf(OTHER_PARTNER_ID, { id: 'someone@northwind.com' }),
  reviewer: { role: 'reviewer', id: 'rev-1' },
  customer: customerOf(TENANT_ID),
  otherCustomer: customerOf(OTHER_TENANT_ID, { id: 'bob@tailspin.com' }),
  programManager: { role: 'programManager', id: 'pm-1' },
  /** The service itself (deadlines); no token or scenario may act as it. */
  system: { role: 'system' },
} as const satisfies Record<string, Actor>;
export type ActorName = keyof typeof ACTORS;

// ---- PoE ----

/** The uploadPoe payload of a signed, dated statement of work covering Teams (the API adds the file). */
export function poePayload(overrides: Partial<PoePayload> = {}): PoePayload {
  return { fileName: 'sow.pdf', customerSigned: true, signedOn: '2026-02-20', products: ['teams'], describesWork: true, ...overrides };
}
export type PoePayload = EventPayloads['uploadPoe'];

/** The same document as the multipart form fields of POST /v1/claims/{id}/poe. */
export function poeFormFields(overrides: Record<string, string> = {}): Record<string, string> {
  return { customerSigned: 'true', signedOn: '2026-02-20', products: 'teams', describesWork: 'true', ...overrides };
}

/** Bytes that sniff as a PDF, `size` long. */
export function pdfBytes(size = 2048): Buffer {
  const header = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  const body = Buffer.alloc(Math.max(0, size - header.length), 0x20);
  return Buffer.concat([header, body]).subarray(0, size);
}

// ---- Claims in each status ----

/** Statuses a claim can be brought to (leaf states; `approved.*` are approved's substatuses). */
export type ClaimStatus =
  | 'editing'
  | 'submitted'
  | 'underReview'
  | 'partnerActionRequired'
  | 'approved.consentPending'
  | 'approved.sentForAssessment'
  | 'rejected'
  | 'disputed';

/** One step on the way to a status: an event sent by an actor, or the clock moved past a deadline. */
export type PathStep =
  | { event: string; by: ActorName; payload: Record<string, unknown> }
  | { deadline: string };

/** Valid payloads of the events the paths send (the defaults of `claimIn`). */
const EVENT_PAYLOADS = {
  uploadPoe: poePayload(),
  submit: {},
  startReview: {},
  requestInfo: { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Add the signature page.' },
  approve: {},
  reject: { reason: 'insufficientPoe', comment: 'The SOW does not name the customer.' },
  dispute: { program: 'OSU', details: 'The PoE was signed by the customer.' },
} as const;

const submitted: PathStep[] = [
  { event: 'uploadPoe', by: 'partner', payload: EVENT_PAYLOADS.uploadPoe },
  { event: 'submit', by: 'partner', payload: EVENT_PAYLOADS.submit },
];
const underReview: PathStep[] = [...submitted, { event: 'startReview', by: 'reviewer', payload: {} }];
const approved: PathStep[] = [...underReview, { event: 'approve', by: 'reviewer', payload: {} }];
const rejected: PathStep[] = [...underReview, { event: 'reject', by: 'reviewer', payload: EVENT_PAYLOADS.reject }];

/** The shortest path from a created claim (editing) to each status. */
export const PATHS: Record<ClaimStatus, PathStep[]> = {
  editing: [],
  submitted,
  underReview,
  partnerActionRequired: [...underReview, { event: 'requestInfo', by: 'reviewer', payload: EVENT_PAYLOADS.requestInfo }],
  'approved.consentPending': approved,
  'approved.sentForAssessment': [...approved, { deadline: 'consentWindow' }],
  rejected,
  disputed: [...rejected, { event: 'dispute', by: 'partner', payload: EVENT_PAYLOADS.dispute }],
};

/** When the latest run of a running deadline falls due. */
export function dueAtOf(claim: { id: string; deadlines: Array<{ name: string; status: string; dueAt: string }> }, name: string): string {
  const run = claim.deadlines.filter((d) => d.name === name).at(-1);
  if (!run || run.status !== 'running') throw new Error(`deadline ${name} is not running on claim ${claim.id}`);
  return run.dueAt;
}

export interface ClaimInOptions {
  /** Claim fields (default `claimFields()`). */
  fields?: Partial<ClaimFields>;
  /** Actors by name (default ACTORS); e.g. `{ partner: partnerOf('4500001') }`. */
  actors?: Partial<Record<ActorName, Actor>>;
  /** Options of the uploadPoe step (the stored file's facts, say). */
  upload?: ActOptions;
  /** Moves the service's clock (needed for statuses reached by a deadline). */
  setClock?: (instant: Date) => void;
}

/** A claim created by the partner and brought to `status` through the real service. */
export async function claimIn(service: ClaimService, status: ClaimStatus, options: ClaimInOptions = {}): Promise<ClaimRecord> {
  const actors = { ...ACTORS, ...options.actors } as Record<ActorName, Actor>;
  let { claim } = await service.create(actors.partner, claimFields(options.fields));
  for (const step of PATHS[status]) {
    if ('deadline' in step) {
      if (!options.setClock) throw new Error(`claimIn(${status}) needs setClock to let ${step.deadline} fall due`);
      options.setClock(new Date(dueAtOf(claim, step.deadline)));
      await service.fireDue();
      claim = await service.getClaim(claim.id);
    } else {
      const act = step.event === 'uploadPoe' ? options.upload : undefined;
      claim = (await service.act(claim.id, step.event, actors[step.by], step.payload, act)).claim;
    }
  }
  if (claim.state !== status) throw new Error(`claimIn(${status}) ended in ${claim.status}`);
  return claim;
}
