import { beforeAll, describe, expect, it } from 'vitest';
import {
  createClaimMachine,
  EMPTY_CONTEXT,
  explainRefusal,
  refusalBeforePayload,
  sendableEvents,
  snapshotValueOf,
  targetOf,
  type ClaimMachine,
  type ClaimSnapshot,
} from '../../src/machines/claim-machine';
import type { LeafState } from '../../src/machines/claim-transitions';
import type { Actor, ClaimContext, ClaimEvent } from '../../src/domain/claim-types';
import type { Policy } from '../../src/rules/policy-types';
import { bundledPolicy, withPolicy } from '../support/bundled-policy';
import { claimFields } from '../support/claim-factory';

const PARTNER: Actor = { role: 'incentivesAdmin', partnerId: '4512345' };
const REVIEWER: Actor = { role: 'reviewer' };

let policy: Policy;
let machine: ClaimMachine;
beforeAll(async () => {
  policy = await bundledPolicy();
  machine = createClaimMachine(policy);
});

const snapshotIn = (state: LeafState, context: Partial<ClaimContext> = {}): ClaimSnapshot => ({
  value: snapshotValueOf(state),
  context: { ...EMPTY_CONTEXT, id: 'claim-1', fields: claimFields(), ...context },
});
const event = (type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
  ({ type, actor, at: '2026-03-10T10:00:00.000Z', payload }) as ClaimEvent;

describe('sendableEvents', () => {
  it('lists the events of a state with the roles the policy lets send them', () => {
    const sendable = sendableEvents(machine, 'submitted');
    expect(sendable.find((e) => e.event === 'startReview')).toEqual({ event: 'startReview', roles: ['reviewer'] });
    expect(sendable.find((e) => e.event === 'withdraw')?.roles).toEqual(['billingAdmin', 'globalAdmin', 'incentivesAdmin']);
    expect(sendable.map((e) => e.event)).not.toContain('create');
    expect(sendable.map((e) => e.event)).not.toContain('approve');
  });

  it('leaves out a role that may send the event but may give none of the reasons it needs', () => {
    const noWithdrawReason = withPolicy(policy, (draft) => {
      const reason = draft.rejectionReasons.find((r) => r.code === 'partnerRequest')!;
      reason.usableBy = reason.usableBy.filter((role) => role !== 'incentivesAdmin');
    });
    const withdraw = sendableEvents(createClaimMachine(noWithdrawReason), 'submitted').find((e) => e.event === 'withdraw');
    expect(withdraw?.roles).toEqual(['billingAdmin', 'globalAdmin']);
  });

  it('offers only create before the claim exists', () => {
    expect(sendableEvents(machine, 'new')).toEqual([{ event: 'create', roles: ['billingAdmin', 'globalAdmin', 'incentivesAdmin'] }]);
  });
});

describe('targetOf', () => {
  it('follows the row the guards select: a dispute resolved as approved leads to approved.consentPending', () => {
    const disputed = snapshotIn('disputed', {
      disputes: [{ program: 'x', details: 'y', raisedAt: '2026-03-01T00:00:00Z', raisedBy: 'p', claimId: 'claim-1', mpnId: '1', tenantId: 't', products: [] }],
    });
    expect(targetOf(machine, disputed, event('resolveDispute', REVIEWER, { outcome: 'approved', comment: 'ok' }))).toBe('approved.consentPending');
    expect(targetOf(machine, disputed, event('resolveDispute', REVIEWER, { outcome: 'upheld', comment: 'no' }))).toBe('rejected');
  });

  it('keeps the state for a self-transition', () => {
    expect(targetOf(machine, snapshotIn('submitted'), event('comment', PARTNER, { text: 'hello' }))).toBe('submitted');
  });

  it('runs no action, so a claim with partial fields can be asked', () => {
    const partial = snapshotIn('rejected', { fields: { partnerId: '4512345' } as never, reason: 'poeInvalid' });
    expect(targetOf(machine, partial, event('dispute', PARTNER, { program: 'x', details: 'y' }))).toBe('disputed');
  });
});

describe('refusalBeforePayload', () => {
  it('answers the role before the state, and reads no payload', () => {
    expect(refusalBeforePayload(machine, snapshotIn('approved.consentPending'), event('uploadPoe', REVIEWER))?.code).toBe('forbiddenRole');
    const late = refusalBeforePayload(machine, snapshotIn('approved.consentPending'), event('uploadPoe', PARTNER));
    expect(late).toMatchObject({ code: 'invalidState', details: { state: 'approved.consentPending' } });
    expect(refusalBeforePayload(machine, snapshotIn('submitted'), event('uploadPoe', PARTNER))).toBeUndefined();
  });

  it('gives the same state refusal as explainRefusal', () => {
    const snapshot = snapshotIn('rejected');
    const probe = event('submit', PARTNER);
    expect(refusalBeforePayload(machine, snapshot, probe)).toEqual(explainRefusal(machine, snapshot, probe));
  });
});
