import { beforeAll, describe, expect, it } from 'vitest';
import {
  createClaimMachine,
  initialSnapshot,
  leafStateOf,
  stepClaim,
  type ClaimMachine,
  type ClaimSnapshot,
} from '../../src/machines/claim-machine';
import type { Actor, ClaimEvent, EventType } from '../../src/domain/claim-types';
import type { Policy } from '../../src/rules/policy-types';
import { bundledPolicy, withPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, customerOf, OTHER_TENANT_ID, PARTNER_ID, partnerOf, poePayload, TENANT_ID } from '../support/factories';

const PARTNER: Actor = ACTORS.partner;
const OTHER_PARTNER: Actor = ACTORS.otherPartner;
const REVIEWER: Actor = ACTORS.reviewer;
const CUSTOMER: Actor = ACTORS.customer;
const SYSTEM: Actor = ACTORS.system;
const AT = '2026-03-02T17:00:00.000Z';

const POE = poePayload();
const PASSED = { requirements: { passed: true, failed: [] } };

/** A valid event of each type, sent by a role allowed to send it. */
const VALID: Record<EventType, Omit<ClaimEvent, 'at'>> = {
  create: { type: 'create', actor: PARTNER, payload: { ...claimFields() }, meta: { claimId: 'claim-1' } },
  edit: { type: 'edit', actor: PARTNER, payload: { mpnId: '4512399' } },
  uploadPoe: { type: 'uploadPoe', actor: PARTNER, payload: POE, meta: { poeId: 'poe-9' } },
  removePoe: { type: 'removePoe', actor: PARTNER, payload: { poeId: 'poe-9', comment: 'Wrong file' } },
  comment: { type: 'comment', actor: REVIEWER, payload: { text: 'Looking at it' } },
  submit: { type: 'submit', actor: PARTNER, payload: {}, meta: PASSED },
  startReview: { type: 'startReview', actor: REVIEWER, payload: {} },
  requestInfo: {
    type: 'requestInfo',
    actor: REVIEWER,
    payload: { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Add the signature page' },
  },
  resubmit: { type: 'resubmit', actor: PARTNER, payload: {} },
  approve: { type: 'approve', actor: REVIEWER, payload: {} },
  reject: { type: 'reject', actor: REVIEWER, payload: { reason: 'insufficientPoe' } },
  withdraw: { type: 'withdraw', actor: PARTNER, payload: {} },
  denyConsent: { type: 'denyConsent', actor: CUSTOMER, payload: {} },
  dispute: { type: 'dispute', actor: PARTNER, payload: { program: 'OSU', details: 'The PoE was signed' } },
  resolveDispute: { type: 'resolveDispute', actor: REVIEWER, payload: { outcome: 'upheld', comment: 'Stands' } },
  sendForAssessment: { type: 'sendForAssessment', actor: SYSTEM, payload: {} },
};

/** The shortest path of events from `new` to each state (driving a snapshot there; the table below is what is checked). */
type State = 'editing' | 'submitted' | 'underReview' | 'partnerActionRequired' | 'approved.consentPending' | 'approved.sentForAssessment' | 'rejected' | 'disputed';
const PATHS: Record<State, EventType[]> = {
  editing: ['create'],
  submitted: ['create', 'submit'],
  underReview: ['create', 'submit', 'startReview'],
  partnerActionRequired: ['create', 'submit', 'startReview', 'requestInfo'],
  'approved.consentPending': ['create', 'submit', 'startReview', 'approve'],
  'approved.sentForAssessment': ['create', 'submit', 'startReview', 'approve', 'sendForAssessment'],
  rejected: ['create', 'submit', 'startReview', 'reject'],
  disputed: ['create', 'submit', 'startReview', 'reject', 'dispute'],
};

let policy: Policy;
let claim: ClaimMachine;

beforeAll(async () => {
  policy = await bundledPolicy();
  claim = createClaimMachine(policy);
});

function send(snapshot: ClaimSnapshot, event: Omit<ClaimEvent, 'at'>, machine = claim) {
  return stepClaim(machine, snapshot, { at: AT, ...event });
}

function driveTo(state: State, machine = claim): ClaimSnapshot {
  let snapshot = initialSnapshot(machine);
  for (const type of PATHS[state]) {
    const result = send(snapshot, VALID[type], machine);
    if (!result.ok) throw new Error(`${type} refused on the way to ${state}: ${result.refusal.message}`);
    snapshot = result.snapshot;
  }
  return snapshot;
}

/** Like driveTo, with VALID.uploadPoe (id poe-9) uploaded right after create. */
function driveToWithPoe(state: State): ClaimSnapshot {
  let snapshot = initialSnapshot(claim);
  for (const type of PATHS[state]) {
    const result = send(snapshot, VALID[type]);
    if (!result.ok) throw new Error(`${type} refused on the way to ${state}: ${result.refusal.message}`);
    snapshot = type === 'create' ? withUpload(result.snapshot) : result.snapshot;
  }
  return snapshot;
}

/** The snapshot after the partner uploaded VALID.uploadPoe (id poe-9). */
function withUpload(snapshot: ClaimSnapshot, meta: ClaimEvent['meta'] = VALID.uploadPoe.meta, machine = claim): ClaimSnapshot {
  const result = send(snapshot, { ...VALID.uploadPoe, meta }, machine);
  if (!result.ok) throw new Error(`uploadPoe refused: ${result.refusal.message}`);
  return result.snapshot;
}

/**
 * DESIGN.md's "Events, with who may send them", copied literally (event, from, to, by). The
 * machine is built from src/machines/claim-transitions.ts; this copy is independent of it, so a
 * wrong row there fails here. `any` is every state a claim can be in; `same` keeps the state.
 */
const DESIGN_TABLE = [
  ['create', '—', 'editing', 'billingAdmin, globalAdmin, incentivesAdmin'],
  ['edit', 'editing, submitted, partnerActionRequired', 'same', 'partner roles'],
  ['uploadPoe', 'editing, submitted, partnerActionRequired', 'same', 'partner roles'],
  ['comment', 'any', 'same', 'partner roles, reviewer'],
  ['submit', 'editing', 'submitted', 'partner roles'],
  ['startReview', 'submitted', 'underReview', 'reviewer'],
  ['requestInfo', 'underReview', 'partnerActionRequired', 'reviewer'],
  ['resubmit', 'partnerActionRequired', 'underReview', 'partner roles'],
  ['approve', 'underReview', 'approved.consentPending', 'reviewer'],
  ['reject', 'underReview, partnerActionRequired', 'rejected', 'reviewer'],
  ['withdraw', 'any but rejected', 'rejected', 'partner roles'],
  ['denyConsent', 'approved.consentPending', 'rejected', 'customer of that tenant'],
  ['dispute', 'rejected', 'disputed', 'partner roles'],
  ['resolveDispute', 'disputed', 'rejected, approved.consentPending or partnerActionRequired', 'reviewer'],
  ['(deadline) partnerResponse due', 'partnerActionRequired', 'rejected', 'system'],
  ['(deadline) consentWindow due', 'approved.consentPending', 'approved.sentForAssessment', 'system'],
] as const;

/**
 * Events of the machine DESIGN.md's table does not name, and why:
 * - `removePoe`: the service's addition (README "Refusal codes"): a partner takes a wrong PoE off the
 *   claim wherever uploadPoe is possible; the file and history stay.
 * - `sendForAssessment`: what the bundled policy's consentWindow deadline sends (`onDue: { send: sendForAssessment }`),
 *   DESIGN's "(deadline) consentWindow due" row.
 * The partnerResponse deadline sends `reject` as `system` with reason noPartnerResponse.
 */
const EXTRA_ROWS = [['removePoe', 'editing, submitted, partnerActionRequired', 'same', 'partner roles']] as const;
const DEADLINE_EVENTS: Record<string, { type: EventType; payload: Record<string, unknown> }> = {
  '(deadline) partnerResponse due': { type: 'reject', payload: { reason: 'noPartnerResponse' } },
  '(deadline) consentWindow due': { type: 'sendForAssessment', payload: {} },
};

const CLAIM_STATES: State[] = [
  'editing',
  'submitted',
  'underReview',
  'partnerActionRequired',
  'approved.consentPending',
  'approved.sentForAssessment',
  'rejected',
  'disputed',
];
const PARTNER_ROLES = ['billingAdmin', 'globalAdmin', 'incentivesAdmin'];
const HUMAN_ROLES = [...PARTNER_ROLES, 'reviewer', 'customer', 'programManager'];

interface Row {
  label: string;
  type: EventType;
  payload?: Record<string, unknown>;
  from: Array<State | 'new'>;
  /** Target per from-state; several targets (resolveDispute) are told apart by outcome. */
  to: string[];
  roles: string[];
}

function parseRow([event, from, to, by]: readonly [string, string, string, string]): Row {
  const list = (text: string) => text.split(/, | or /).map((s) => s.trim());
  const deadline = DEADLINE_EVENTS[event];
  const froms: Row['from'] =
    from === '—' ? ['new'] : from === 'any' ? CLAIM_STATES : from === 'any but rejected' ? CLAIM_STATES.filter((s) => s !== 'rejected') : (list(from) as State[]);
  const roles = by === 'partner roles' ? PARTNER_ROLES : by === 'customer of that tenant' ? ['customer'] : list(by).flatMap((r) => (r === 'partner roles' ? PARTNER_ROLES : [r]));
  return { label: event, type: (deadline?.type ?? event) as EventType, ...(deadline ? { payload: deadline.payload } : {}), from: froms, to: list(to), roles };
}
const ROWS = DESIGN_TABLE.map(parseRow);
const ALL_ROWS = [...ROWS, ...EXTRA_ROWS.map(parseRow)];

/** An actor of `role` who may act on the claim (its partner, its tenant's customer). */
function actorOf(role: string): Actor {
  if (PARTNER_ROLES.includes(role)) return partnerOf(PARTNER_ID, { role });
  if (role === 'customer') return CUSTOMER;
  return role === 'reviewer' ? REVIEWER : role === 'system' ? SYSTEM : { role, id: `${role}-1` };
}

const RESOLUTION_OUTCOME: Record<string, string> = {
  rejected: 'upheld',
  'approved.consentPending': 'approved',
  partnerActionRequired: 'partnerActionRequired',
};

/** The snapshot a row starts from (with a PoE for removePoe) and the event it sends. */
function rowCase(row: Row, from: State | 'new', to: string, role: string) {
  const start = from === 'new' ? initialSnapshot(claim) : row.type === 'removePoe' ? driveToWithPoe(from) : driveTo(from);
  const base = VALID[row.type];
  const payload = row.payload ?? (row.type === 'resolveDispute' ? { outcome: RESOLUTION_OUTCOME[to] ?? 'upheld', comment: 'Decided' } : base.payload);
  return { start, event: { ...base, actor: actorOf(role), payload } };
}

describe("DESIGN.md's transition table (a literal copy)", () => {
  // DESIGN.md's rows, and the extra removePoe row.
  const allowed = ALL_ROWS.flatMap((row) =>
    row.from.flatMap((from) =>
      row.to.flatMap((to) => row.roles.map((role) => [row.label, from, role, to === 'same' ? from : to, row] as const)),
    ),
  );

  it.each(allowed)('%s from %s by %s lands in %s', (_label, from, role, to, row) => {
    const { start, event } = rowCase(row, from, to, role);
    const result = send(start, event);
    expect(result.ok, result.ok ? '' : `${result.refusal.code}: ${result.refusal.message}`).toBe(true);
    if (result.ok) expect(result.to).toBe(to);
  });

  /** Roles any row lets send the event (reject: reviewer, and system by the partnerResponse deadline). */
  const rolesOf = (type: EventType) => new Set(ALL_ROWS.filter((row) => row.type === type).flatMap((row) => row.roles));

  it.each(ALL_ROWS.map((row) => [row.label, row] as const))(
    '%s is refused with forbiddenRole to every role no row of its event lists',
    (_label, row) => {
      const refused = HUMAN_ROLES.filter((r) => !rolesOf(row.type).has(r));
      for (const role of refused) {
        const from = row.from[0]!;
        const { start, event } = rowCase(row, from, row.to[0] === 'same' ? from : row.to[0]!, role);
        const result = send(start, event);
        expect(!result.ok && result.refusal.code, `${row.label} by ${role} from ${from}`).toBe('forbiddenRole');
      }
    },
  );

  it('every (event, state) pair the table does not list is refused with invalidState', () => {
    const types = [...new Set(ALL_ROWS.map((row) => row.type))];
    let checked = 0;
    for (const state of CLAIM_STATES) {
      for (const type of types) {
        if (ALL_ROWS.some((row) => row.type === type && row.from.includes(state))) continue;
        const role = ALL_ROWS.find((row) => row.type === type)!.roles[0]!;
        const row = ALL_ROWS.find((r) => r.type === type)!;
        const { start, event } = rowCase(row, state, state, role);
        const result = send(start, event);
        expect(!result.ok && result.refusal.code, `${type} in ${state}`).toBe('invalidState');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it("the policy's events are DESIGN.md's, removePoe, and the deadlines' sendForAssessment", () => {
    const named = new Set(ALL_ROWS.map((row) => row.type));
    expect(Object.keys(policy.events).sort()).toEqual([...named].sort());
    expect(Object.keys(VALID).sort()).toEqual([...named].sort());
  });

  it('partner roles of another partner and customers of another tenant are refused with notYourClaim', () => {
    expect(send(driveTo('editing'), { ...VALID.edit, actor: partnerOf('4599999', { role: 'globalAdmin' }) })).toMatchObject({
      ok: false,
      refusal: { code: 'notYourClaim' },
    });
    expect(send(driveTo('approved.consentPending'), { ...VALID.denyConsent, actor: customerOf(OTHER_TENANT_ID) })).toMatchObject({
      ok: false,
      refusal: { code: 'notYourClaim' },
    });
  });
});

describe('transitions of DESIGN.md', () => {
  it('create leads from new to editing with the fields and claim id', () => {
    const result = send(initialSnapshot(claim), VALID.create);
    expect(result.ok && result.to).toBe('editing');
    if (result.ok) {
      expect(result.snapshot.context.id).toBe('claim-1');
      expect(result.snapshot.context.fields.mpnId).toBe('4512345');
    }
  });

  it('withdraw, reject and denyConsent record their reasons', () => {
    const withdrawn = send(driveTo('submitted'), VALID.withdraw);
    const rejected = send(driveTo('underReview'), VALID.reject);
    const declined = send(driveTo('approved.consentPending'), VALID.denyConsent);
    expect(withdrawn.ok && withdrawn.snapshot.context.reason).toBe('partnerRequest');
    expect(rejected.ok && rejected.snapshot.context.reason).toBe('insufficientPoe');
    expect(declined.ok && declined.snapshot.context.reason).toBe('customerDecline');
  });

  it('resolving a dispute as approved clears the rejection reason and records the resolution', () => {
    const result = send(driveTo('disputed'), {
      ...VALID.resolveDispute,
      payload: { outcome: 'approved', comment: 'PoE is fine' },
    });
    expect(result.ok && result.to).toBe('approved.consentPending');
    if (result.ok) {
      expect(result.snapshot.context.reason).toBeNull();
      expect(result.snapshot.context.disputes[0]).toMatchObject({
        program: 'OSU',
        claimId: 'claim-1',
        mpnId: '4512345',
        tenantId: TENANT_ID,
        resolution: { outcome: 'approved', comment: 'PoE is fine' },
      });
    }
  });

  it('uploadPoe adds a document with the id and time the service gives', () => {
    const result = send(driveTo('editing'), VALID.uploadPoe);
    expect(result.ok && result.snapshot.context.poe).toEqual([
      { id: 'poe-9', ...POE, uploadedAt: AT, uploadedBy: PARTNER.id },
    ]);
  });

  it('requestInfo records the requested deficiency codes', () => {
    const result = send(driveTo('underReview'), VALID.requestInfo);
    expect(result.ok && result.snapshot.context.requestedDeficiencies).toEqual(['missingCustomerAcknowledgment']);
  });
});

describe('refusals', () => {
  const refusalOf = (snapshot: ClaimSnapshot, event: Omit<ClaimEvent, 'at'>, machine = claim) => {
    const result = send(snapshot, event, machine);
    expect(result.ok).toBe(false);
    return result.ok ? undefined : result.refusal;
  };

  it('an event from a state that does not allow it is refused with invalidState and names where it is allowed', () => {
    const refusal = refusalOf(driveTo('editing'), VALID.approve);
    expect(refusal).toMatchObject({ code: 'invalidState', kind: 'conflict' });
    expect(refusal?.message).toContain('underReview');
  });

  it('a role the policy does not allow is refused with forbiddenRole', () => {
    expect(refusalOf(driveTo('submitted'), { ...VALID.startReview, actor: PARTNER })?.code).toBe('forbiddenRole');
    expect(refusalOf(driveTo('underReview'), { ...VALID.approve, actor: CUSTOMER })?.code).toBe('forbiddenRole');
    expect(refusalOf(driveTo('approved.consentPending'), { ...VALID.sendForAssessment, actor: REVIEWER })?.code).toBe(
      'forbiddenRole',
    );
  });

  it('a role that may never send the event hears forbiddenRole before the state is checked', () => {
    expect(refusalOf(driveTo('submitted'), { ...VALID.approve, actor: PARTNER })?.code).toBe('forbiddenRole');
  });

  it("another partner's claim is refused with notYourClaim", () => {
    expect(refusalOf(driveTo('editing'), { ...VALID.edit, actor: OTHER_PARTNER })?.code).toBe('notYourClaim');
    expect(refusalOf(initialSnapshot(claim), { ...VALID.create, actor: OTHER_PARTNER })?.code).toBe('notYourClaim');
  });

  it("a customer of another tenant is refused with notYourClaim", () => {
    const stranger = customerOf('00000000-0000-4000-8000-000000000000');
    expect(refusalOf(driveTo('approved.consentPending'), { ...VALID.denyConsent, actor: stranger })?.code).toBe(
      'notYourClaim',
    );
  });

  it('a field the policy does not make editable in the state is refused with fieldNotEditable at its path', () => {
    const refusal = refusalOf(driveTo('submitted'), { ...VALID.edit, payload: { activity: 'usage' } });
    expect(refusal).toMatchObject({ code: 'fieldNotEditable', path: '$.activity' });
  });

  it('an unknown deficiency code is refused with unknownDeficiencyCode at its index', () => {
    const refusal = refusalOf(driveTo('underReview'), {
      ...VALID.requestInfo,
      payload: { deficiencies: ['missingAllPoe', 'missingCoffee'], comment: 'x' },
    });
    expect(refusal).toMatchObject({ code: 'unknownDeficiencyCode', path: '$.deficiencies[1]' });
  });

  it('an unknown rejection reason is refused with unknownReason', () => {
    expect(refusalOf(driveTo('underReview'), { ...VALID.reject, payload: { reason: 'tooLate' } })?.code).toBe(
      'unknownReason',
    );
  });

  it("a reason the policy does not give the actor is refused with reasonNotAllowed", () => {
    const refusal = refusalOf(driveTo('underReview'), { ...VALID.reject, payload: { reason: 'noPartnerResponse' } });
    expect(refusal?.code).toBe('reasonNotAllowed');
  });

  it('a withdrawal is refused when the policy does not let that role use partnerRequest', () => {
    const strict = createClaimMachine(
      withPolicy(policy, (p) => {
        p.rejectionReasons.find((r) => r.code === 'partnerRequest')!.usableBy = ['globalAdmin'];
      }),
    );
    expect(refusalOf(driveTo('submitted', strict), VALID.withdraw, strict)?.code).toBe('reasonNotAllowed');
  });

  it('submit with failed requirements is refused with requirementsNotMet and their messages', () => {
    const refusal = refusalOf(driveTo('editing'), {
      ...VALID.submit,
      meta: { requirements: { passed: false, failed: [{ code: 'poeRequired', message: 'Upload a PoE.' }] } },
    });
    expect(refusal).toMatchObject({ code: 'requirementsNotMet', message: 'Upload a PoE.' });
  });

  it('a dispute after the window closed is refused with windowClosed', () => {
    const refusal = refusalOf(driveTo('rejected'), { ...VALID.dispute, meta: { closedEvents: { dispute: 'disputeWindow' } } });
    expect(refusal?.code).toBe('windowClosed');
    expect(refusal?.message).toContain('disputeWindow');
  });

  it('a payload that does not match the schema is refused with invalidPayload at the JSON path', () => {
    const refusal = refusalOf(driveTo('editing'), { ...VALID.edit, payload: { products: [{ line: 'microsoft365', workload: 'fax' }] } });
    expect(refusal).toMatchObject({ code: 'invalidPayload', kind: 'input' });
    expect(refusal?.path).toBe('$.products[0].workload');
  });

  it('an unknown field in a payload is refused, not stored', () => {
    const refusal = refusalOf(driveTo('editing'), { ...VALID.edit, payload: { mpnId: '4512399', isAdmin: true } });
    expect(refusal).toMatchObject({ code: 'invalidPayload', path: '$.isAdmin' });
  });

  it('an unknown event is refused with unknownEvent', () => {
    expect(refusalOf(driveTo('editing'), { ...VALID.edit, type: 'teleport' as EventType })?.code).toBe('unknownEvent');
  });

  it('a refused event leaves the snapshot as it was', () => {
    const before = driveTo('submitted');
    const copy = structuredClone(before);
    send(before, { ...VALID.edit, payload: { activity: 'usage' } });
    expect(before).toEqual(copy);
  });
});

describe('disputes per claim (policy limits.disputesPerClaim)', () => {
  const upheld = { ...VALID.resolveDispute, payload: { outcome: 'upheld', comment: 'The rejection stands' } };
  const disputeAgain = (machine: ClaimMachine, times: number) => {
    let snapshot = driveTo('rejected', machine);
    for (let i = 0; i < times; i++) {
      const disputed = send(snapshot, VALID.dispute, machine);
      if (!disputed.ok) return disputed;
      const resolved = send(disputed.snapshot, upheld, machine);
      if (!resolved.ok) throw new Error(resolved.refusal.message);
      snapshot = resolved.snapshot;
    }
    return send(snapshot, VALID.dispute, machine);
  };
  const machineWith = (limits: Policy['limits']) =>
    createClaimMachine(
      withPolicy(policy, (p) => {
        if (limits) p.limits = limits;
        else delete p.limits;
      }),
    );

  it('under the bundled policy a second dispute after an upheld one is refused with disputeLimitReached', () => {
    const result = disputeAgain(claim, 1);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.refusal).toMatchObject({ code: 'disputeLimitReached', kind: 'conflict', details: { limit: 1, disputes: 1 } });
      expect(result.refusal.message).toMatch(/already been disputed once.*disputesPerClaim/);
    }
  });

  it('disputesPerClaim 2 allows a second dispute and refuses the third', () => {
    const machine = machineWith({ disputesPerClaim: 2 });
    expect(disputeAgain(machine, 1).ok).toBe(true);
    const third = disputeAgain(machine, 2);
    expect(!third.ok && third.refusal.code).toBe('disputeLimitReached');
  });

  it('a policy without limits allows one dispute per claim (the default)', () => {
    const machine = machineWith(undefined);
    expect(send(driveTo('rejected', machine), VALID.dispute, machine).ok).toBe(true);
    const second = disputeAgain(machine, 1);
    expect(!second.ok && second.refusal.code).toBe('disputeLimitReached');
  });
});

describe('PoE documents and bytes per claim (policy limits)', () => {
  const file = (size: number) => ({ poeId: `poe-${size}`, file: { sha256: 'a'.repeat(64), size, contentType: 'application/pdf' } });
  const limited = (limits: NonNullable<Policy['limits']>) => createClaimMachine(withPolicy(policy, (p) => void (p.limits = limits)));

  it('uploadPoe is refused with poeLimitReached once the claim has poeDocumentsPerClaim documents', () => {
    const machine = limited({ poeDocumentsPerClaim: 2 });
    const two = withUpload(withUpload(driveTo('editing', machine), undefined, machine), undefined, machine);
    const result = send(two, VALID.uploadPoe, machine);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.refusal).toMatchObject({ code: 'poeLimitReached', kind: 'conflict', details: { limit: 2, documents: 2 } });
      expect(result.refusal.message).toContain('remove one');
    }
  });

  it('uploadPoe is refused with poeBytesLimitReached when the file would take the total over poeBytesPerClaim', () => {
    const machine = limited({ poeBytesPerClaim: 1000 });
    const first = withUpload(driveTo('editing', machine), file(600), machine);
    expect(send(first, { ...VALID.uploadPoe, meta: file(400) }, machine).ok).toBe(true);
    const over = send(first, { ...VALID.uploadPoe, meta: file(401) }, machine);
    expect(!over.ok && over.refusal).toMatchObject({
      code: 'poeBytesLimitReached',
      kind: 'conflict',
      details: { limit: 1000, bytes: 600, size: 401 },
    });
  });

  it('a document without a file (a scenario) counts as 0 bytes', () => {
    const machine = limited({ poeBytesPerClaim: 1 });
    const two = withUpload(withUpload(driveTo('editing', machine), undefined, machine), undefined, machine);
    expect(send(two, VALID.uploadPoe, machine).ok).toBe(true);
  });

  it('a removed document frees its place but its file, still stored, counts toward poeBytesPerClaim', () => {
    const machine = limited({ poeDocumentsPerClaim: 1, poeBytesPerClaim: 1000 });
    const uploaded = withUpload(driveTo('editing', machine), { ...file(700), poeId: 'poe-9' }, machine);
    const removed = send(uploaded, VALID.removePoe, machine);
    if (!removed.ok) throw new Error(removed.refusal.message);
    expect(send(removed.snapshot, { ...VALID.uploadPoe, meta: file(300) }, machine).ok).toBe(true);
    const over = send(removed.snapshot, { ...VALID.uploadPoe, meta: file(301) }, machine);
    expect(!over.ok && over.refusal.code).toBe('poeBytesLimitReached');
  });

  it('without limits neither documents nor bytes are limited', () => {
    const machine = createClaimMachine(withPolicy(policy, (p) => void delete p.limits));
    let snapshot = driveTo('editing', machine);
    for (let i = 0; i < 30; i++) snapshot = withUpload(snapshot, file(50 * 1024 * 1024), machine);
    expect(snapshot.context.poe).toHaveLength(30);
  });
});

describe('PoE signing dates', () => {
  // 2026-03-03T05:00Z is 2026-03-02 21:00 in Los Angeles (the bundled calendar): UTC is a day ahead.
  const LATE_EVENING = '2026-03-03T05:00:00.000Z';

  it('a PoE signed after the local date of the upload is refused with poeSignedInFuture at $.signedOn', () => {
    const result = stepClaim(claim, driveTo('editing'), { ...VALID.uploadPoe, at: LATE_EVENING, payload: { ...POE, signedOn: '2026-03-03' } });
    expect(!result.ok && result.refusal).toMatchObject({ code: 'poeSignedInFuture', kind: 'input', path: '$.signedOn' });
    expect(!result.ok && result.refusal.message).toContain('2026-03-02');
  });

  it('a PoE signed on the local date of the upload is accepted, and one without a date too', () => {
    const today = stepClaim(claim, driveTo('editing'), { ...VALID.uploadPoe, at: LATE_EVENING, payload: { ...POE, signedOn: '2026-03-02' } });
    expect(today.ok).toBe(true);
    const { signedOn: _, ...undated } = POE;
    expect(send(driveTo('editing'), { ...VALID.uploadPoe, payload: undated }).ok).toBe(true);
  });
});

describe('removing a PoE', () => {
  it('removePoe takes the document off the claim and keeps it among the removed ones', () => {
    const result = send(withUpload(driveTo('editing')), VALID.removePoe);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.to).toBe('editing');
      expect(result.snapshot.context.poe).toEqual([]);
      expect(result.snapshot.context.removedPoe).toEqual([
        { id: 'poe-9', ...POE, uploadedAt: AT, uploadedBy: PARTNER.id, removedAt: AT, removedBy: PARTNER.id, comment: 'Wrong file' },
      ]);
    }
  });

  it('removePoe of an id the claim does not have is refused with unknownPoe at $.poeId', () => {
    const result = send(withUpload(driveTo('submitted')), { ...VALID.removePoe, payload: { poeId: 'poe-404' } });
    expect(!result.ok && result.refusal).toMatchObject({ code: 'unknownPoe', kind: 'input', path: '$.poeId' });
    expect(!result.ok && result.refusal.message).toContain('poe-9');
  });

  it("removePoe is refused to roles the policy's events.removePoe does not list, and to everyone when it is absent", () => {
    const snapshot = withUpload(driveTo('partnerActionRequired'));
    expect(send(snapshot, { ...VALID.removePoe, actor: REVIEWER })).toMatchObject({ ok: false, refusal: { code: 'forbiddenRole' } });
    const without = createClaimMachine(withPolicy(policy, (p) => void delete (p.events as Partial<Policy['events']>).removePoe));
    const refused = send(withUpload(driveTo('editing', without), undefined, without), VALID.removePoe, without);
    expect(!refused.ok && refused.refusal.code).toBe('forbiddenRole');
  });

  it('removePoe is refused once the claim is under review', () => {
    const snapshot = withUpload(driveTo('submitted'));
    const reviewing = send(snapshot, VALID.startReview);
    if (!reviewing.ok) throw new Error(reviewing.refusal.message);
    expect(send(reviewing.snapshot, VALID.removePoe)).toMatchObject({ ok: false, refusal: { code: 'invalidState' } });
  });
});

describe('snapshots', () => {
  it('a snapshot is plain JSON that round-trips and steps on after it', () => {
    const snapshot = driveTo('approved.consentPending');
    const restored = JSON.parse(JSON.stringify(snapshot)) as ClaimSnapshot;
    expect(restored).toEqual(snapshot);
    expect(leafStateOf(restored.value)).toBe('approved.consentPending');
    const next = send(restored, VALID.sendForAssessment);
    expect(next.ok && next.to).toBe('approved.sentForAssessment');
  });

  it('stepping does not mutate the snapshot it was given', () => {
    const snapshot = driveTo('editing');
    const copy = structuredClone(snapshot);
    send(snapshot, VALID.uploadPoe);
    expect(snapshot).toEqual(copy);
  });
});
