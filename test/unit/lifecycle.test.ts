import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimRecord, HistoryEntry } from '../../src/claims/claim-record';
import { createClaimService } from '../../src/claims/claim-service';
import { verifyChain } from '../../src/claims/history-chain';
import { applyEvent, fireDeadlines, type Applied } from '../../src/claims/lifecycle';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import type { Actor, ClaimEvent } from '../../src/domain/claim-types';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { claimFields } from '../support/claim-factory';

const PARTNER: Actor = { role: 'incentivesAdmin', partnerId: '4512345', id: 'li@fabrikam.com' };
const OTHER_PARTNER: Actor = { role: 'incentivesAdmin', partnerId: '4599999' };
const REVIEWER: Actor = { role: 'reviewer', id: 'rev-1' };
const POE = { fileName: 'sow.pdf', customerSigned: true, signedOn: '2026-02-20', products: ['teams'], describesWork: true };

let policy: CompiledPolicy;
beforeAll(async () => {
  policy = await compiledBundledPolicy();
});

const event = (type: string, actor: Actor, at: string, payload: Record<string, unknown> = {}, meta: ClaimEvent['meta'] = {}) =>
  ({ type, actor, at, payload, meta }) as ClaimEvent;

function applied(result: Applied): Extract<Applied, { ok: true }> {
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.message}`);
  return result;
}

/** Plain records through the core alone: created, documented and submitted on Monday 2026-03-02 (09:00 PST). */
async function submittedRecord(): Promise<{ record: ClaimRecord; entries: HistoryEntry[] }> {
  const created = applied(
    await applyEvent(policy, null, event('create', PARTNER, '2026-03-02T17:00:00.000Z', { ...claimFields() }, { claimId: 'claim-1' })),
  );
  const documented = applied(
    await applyEvent(policy, created.record, event('uploadPoe', PARTNER, '2026-03-02T17:05:00.000Z', POE, { poeId: 'poe-1' })),
  );
  const submitted = applied(await applyEvent(policy, documented.record, event('submit', PARTNER, '2026-03-02T17:10:00.000Z')));
  return { record: submitted.record, entries: [created.entry, documented.entry, submitted.entry] };
}

const samePolicy = () => policy;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('applyEvent', () => {
  it('creates a record with the id from the event meta, stamped with the event instant, and seals its first entry', async () => {
    const result = applied(
      await applyEvent(policy, null, event('create', PARTNER, '2026-03-02T17:00:00.000Z', { ...claimFields() }, { claimId: 'claim-7' })),
    );
    expect(result.record).toMatchObject({
      id: 'claim-7',
      status: 'editing',
      createdAt: '2026-03-02T17:00:00.000Z',
      updatedAt: '2026-03-02T17:00:00.000Z',
      lastSeq: 1,
      lastHash: result.entry.hash,
      policyPinned: false,
    });
    expect(result.entry).toMatchObject({ claimId: 'claim-7', seq: 1, event: 'create', from: 'new', to: 'editing', refs: { claimId: 'claim-7' } });
    expect(result.decision).toMatchObject({ claimId: 'claim-7', kind: 'transition', result: { event: 'create', from: null, to: 'editing' } });
  });

  it('refuses an event with the reason and a decision record that leaves the state where it was', async () => {
    const { record } = await submittedRecord();
    const result = await applyEvent(policy, record, event('withdraw', OTHER_PARTNER, '2026-03-03T10:00:00.000Z'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.code).toBe('notYourClaim');
    expect(result.decision.result).toEqual({ event: 'withdraw', from: 'submitted', to: 'submitted', refused: { code: 'notYourClaim' } });
  });

  it('pins the policy version on submission and starts the deadlines of the new state at the event instant', async () => {
    const { record } = await submittedRecord();
    expect(record).toMatchObject({ status: 'submitted', policyPinned: true, policy: { id: policy.policy.id, version: policy.policy.version } });
    expect(record.deadlines.map((d) => [d.name, d.startedAt, d.status])).toEqual([
      ['reviewStart', '2026-03-02T17:10:00.000Z', 'running'],
      ['decisionTarget', '2026-03-02T17:10:00.000Z', 'running'],
    ]);
  });

  it('leaves its input record untouched and gives the same result for the same input', async () => {
    const { record } = await submittedRecord();
    const frozen = deepFreeze(structuredClone(record));
    const first = await applyEvent(policy, frozen, event('startReview', REVIEWER, '2026-03-03T10:00:00.000Z'));
    const second = await applyEvent(policy, frozen, event('startReview', REVIEWER, '2026-03-03T10:00:00.000Z'));
    expect(first).toEqual(second);
    expect(frozen).toEqual(record);
  });
});

describe('fireDeadlines', () => {
  it('fires nothing before the first due instant', async () => {
    const { record } = await submittedRecord();
    const fired = await fireDeadlines(samePolicy, record, new Date('2026-03-10T06:59:59.999Z'));
    expect(fired).toEqual({ record, entries: [], decisions: [], sent: [] });
  });

  it('fires each due deadline at its own due instant, not at until, in due order', async () => {
    const { record } = await submittedRecord();
    const fired = await fireDeadlines(samePolicy, record, new Date('2026-04-01T00:00:00.000Z'));
    // 5 and 10 business days after Mon 2 March (Pacific time: due at local midnight, after the DST change).
    expect(fired.entries.map((e) => [e.event, e.at])).toEqual([
      ['reviewStartDue', '2026-03-10T07:00:00.000Z'],
      ['decisionTargetDue', '2026-03-17T07:00:00.000Z'],
    ]);
    expect(fired.record).toMatchObject({ status: 'submitted', overdue: ['reviewStart', 'decisionTarget'], nextDueAt: null });
    expect(fired.decisions.map((d) => d.result)).toEqual([
      { event: 'reviewStartDue', from: 'submitted', to: 'submitted' },
      { event: 'decisionTargetDue', from: 'submitted', to: 'submitted' },
    ]);
  });

  it('applies the event a deadline sends, as the system, under the version policyFor gives at the due instant', async () => {
    const { record: submitted } = await submittedRecord();
    const review = applied(await applyEvent(policy, submitted, event('startReview', REVIEWER, '2026-03-03T10:00:00.000Z')));
    const request = applied(
      await applyEvent(policy, review.record, event('requestInfo', REVIEWER, '2026-03-03T11:00:00.000Z', { deficiencies: ['missingAllPoe'], comment: 'Signed copy, please.' })),
    );
    const asked: Array<[string, string]> = [];
    const fired = await fireDeadlines(
      (record, at) => {
        asked.push([record.state, at.toISOString()]);
        return policy;
      },
      request.record,
      new Date('2026-04-01T00:00:00.000Z'),
    );
    const due = fired.entries[0]!;
    expect(due).toMatchObject({ event: 'partnerResponseDue', actor: { role: 'system' }, from: 'partnerActionRequired', to: 'rejected' });
    expect(asked[0]).toEqual(['partnerActionRequired', due.at]);
    expect(fired.record).toMatchObject({ status: 'rejected', reason: 'noPartnerResponse' });
  });

  it('chains its entries onto the record so the whole history verifies', async () => {
    const { record, entries } = await submittedRecord();
    const fired = await fireDeadlines(samePolicy, record, new Date('2026-04-01T00:00:00.000Z'));
    const history = [...entries, ...fired.entries];
    expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(verifyChain(history)).toMatchObject({ ok: true });
    expect(fired.record.lastHash).toBe(history.at(-1)!.hash);
  });
});

describe('the claim service runs the same core', () => {
  it('stores the history the core computes for the same events, hash for hash', async () => {
    const clock = createVirtualClock(new Date('2026-03-02T17:00:00.000Z'));
    const store = createMemoryClaimStore();
    const service = createClaimService({ store, policy, clock, ids: createSequentialIds() });
    const { claim } = await service.create(PARTNER, claimFields());
    clock.set(new Date('2026-03-02T17:05:00.000Z'));
    await service.act(claim.id, 'uploadPoe', PARTNER, POE);
    clock.set(new Date('2026-03-02T17:10:00.000Z'));
    await service.act(claim.id, 'submit', PARTNER, {});
    clock.set(new Date('2026-04-01T00:00:00.000Z'));
    await service.fireDue();

    const core = await submittedRecord();
    const fired = await fireDeadlines(samePolicy, core.record, new Date('2026-04-01T00:00:00.000Z'));
    // The service's sequential ids (claim-1, poe-1) are the ones the core's events carried.
    expect(await service.history(claim.id)).toEqual([...core.entries, ...fired.entries]);
    expect(await service.getClaim(claim.id)).toEqual({ ...fired.record, version: 4 });
  });
});
