import { beforeAll, describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { replayHistory } from '../../src/backtest/replay';
import type { ClaimRecord } from '../../src/claims/claim-record';
import { DomainError } from '../../src/domain/errors';
import type { Actor } from '../../src/domain/claim-types';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, claimIn, poePayload } from '../support/factories';

const PARTNER: Actor = ACTORS.partner;
const REVIEWER: Actor = ACTORS.reviewer;
const CUSTOMER: Actor = ACTORS.customer;
const POE = poePayload();

let bundled: CompiledPolicy;
beforeAll(async () => {
  bundled = await compiledBundledPolicy();
});

function harness(policy: CompiledPolicy = bundled, start = '2026-03-02T17:00:00Z') {
  const clock = createVirtualClock(new Date(start));
  const store = createMemoryClaimStore();
  const service = createClaimService({ store, policy, clock, ids: createSequentialIds() });
  const at = (instant: string) => clock.set(new Date(instant));
  return { clock, store, service, at };
}

const deadline = (claim: ClaimRecord, name: string) =>
  claim.deadlines.filter((d) => d.name === name).at(-1);

describe('deadlines in the claim service', () => {
  it('submitting starts reviewStart and decisionTarget with due instants at local midnight after the due date', async () => {
    const { service } = harness(); // Monday 2026-03-02 09:00 PST
    const claim = await claimIn(service, 'submitted');
    // 5 business days after Mon Mar 2 is Mon Mar 9; it falls due at 00:00 PDT Mar 10 (07:00Z, after the DST change).
    expect(deadline(claim, 'reviewStart')).toMatchObject({ due: '2026-03-09', dueAt: '2026-03-10T07:00:00.000Z', status: 'running' });
    expect(deadline(claim, 'decisionTarget')).toMatchObject({ due: '2026-03-16', status: 'running' });
  });

  it('an escalating deadline flags the claim overdue without changing its status, and the flag clears when the claim moves on', async () => {
    const { service, at } = harness();
    const claim = await claimIn(service, 'submitted');
    at('2026-03-10T06:59:59.999Z');
    await service.fireDue();
    expect((await service.getClaim(claim.id)).overdue).toEqual([]);
    at('2026-03-10T07:00:00.000Z');
    const fired = await service.fireDue();
    expect(fired.map((e) => e.event)).toEqual(['reviewStartDue']);
    const overdue = await service.getClaim(claim.id);
    expect(overdue).toMatchObject({ status: 'submitted', overdue: ['reviewStart'] });
    at('2026-03-10T18:00:00Z');
    const started = (await service.act(claim.id, 'startReview', REVIEWER, {})).claim;
    expect(started.overdue).toEqual([]);
    expect(deadline(started, 'reviewStart')?.status).toBe('fired');
  });

  it('a deadline fires once, however often the scheduler runs', async () => {
    const { service, at } = harness();
    await claimIn(service, 'submitted');
    at('2026-03-20T00:00:00Z');
    const first = await service.fireDue();
    const second = await service.fireDue();
    expect(first.map((e) => e.event).sort()).toEqual(['decisionTargetDue', 'reviewStartDue']);
    expect(second).toEqual([]);
  });

  it('deadlines that fell due fire before the next event on the claim, at their own due instant', async () => {
    const { service, at } = harness();
    const claim = await claimIn(service, 'submitted');
    at('2026-03-05T16:00:00Z');
    await service.act(claim.id, 'startReview', REVIEWER, {});
    await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingProducts'], comment: 'Which workloads?' });
    at('2026-03-20T16:00:00Z'); // partnerResponse was due Thu Mar 12, falling due 00:00 PDT Mar 13
    await expect(service.act(claim.id, 'resubmit', PARTNER, {})).rejects.toMatchObject({ code: 'invalidState' });
    const after = await service.getClaim(claim.id);
    expect(after).toMatchObject({ status: 'rejected', reason: 'noPartnerResponse' });
    const history = await service.history(claim.id);
    expect(history.at(-1)).toMatchObject({
      event: 'partnerResponseDue',
      at: '2026-03-13T07:00:00.000Z',
      actor: { role: 'system' },
      from: 'partnerActionRequired',
      to: 'rejected',
    });
  });

  it('decisionTarget pauses while the partner is asked for information and resumes later by the paused business days', async () => {
    const { service, at } = harness();
    const claim = await claimIn(service, 'submitted'); // decisionTarget due Mon Mar 16
    at('2026-03-03T18:00:00Z');
    await service.act(claim.id, 'startReview', REVIEWER, {});
    at('2026-03-04T18:00:00Z'); // Wed
    const paused = (await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingProducts'], comment: 'x' })).claim;
    expect(deadline(paused, 'decisionTarget')).toMatchObject({ status: 'paused', pausedOn: '2026-03-04' });
    at('2026-03-09T18:00:00Z'); // Mon: paused Wed, Thu, Fri = 3 business days
    const resumed = (await service.act(claim.id, 'resubmit', PARTNER, {})).claim;
    expect(deadline(resumed, 'decisionTarget')).toMatchObject({ status: 'running', due: '2026-03-19' });
    expect(deadline(resumed, 'reviewDecision')?.status).toBe('running');
    expect(resumed.deadlines.filter((d) => d.name === 'reviewDecision')).toHaveLength(2);
  });

  it('approval opens the consent window; when it passes the claim is sent for assessment with eligibility recorded', async () => {
    const { service, at } = harness();
    const claim = await service.create(PARTNER, claimFields({ activity: 'deployment' }));
    await service.act(claim.claim.id, 'uploadPoe', PARTNER, POE);
    await service.act(claim.claim.id, 'submit', PARTNER, {});
    await service.act(claim.claim.id, 'startReview', REVIEWER, {});
    const approved = (await service.act(claim.claim.id, 'approve', REVIEWER, {})).claim;
    expect(deadline(approved, 'consentWindow')).toMatchObject({ due: '2026-03-09', dueAt: '2026-03-10T07:00:00.000Z' });
    at('2026-03-10T07:00:00Z');
    await service.fireDue();
    const sent = await service.getClaim(claim.claim.id);
    expect(sent).toMatchObject({ status: 'approved', substatus: 'sentForAssessment' });
    expect(sent.assessment?.programs.map((p) => [p.code, p.eligible])).toEqual([
      ['OSU', true],
      ['OSA', false],
    ]);
  });

  it('a customer can deny consent inside the window but not after it', async () => {
    const { service, at } = harness();
    const make = async () => {
      const c = await claimIn(service, 'submitted');
      await service.act(c.id, 'startReview', REVIEWER, {});
      return (await service.act(c.id, 'approve', REVIEWER, {})).claim;
    };
    const a = await make();
    const b = await make();
    at('2026-03-09T20:00:00Z');
    expect((await service.act(a.id, 'denyConsent', CUSTOMER, {})).claim).toMatchObject({ status: 'rejected', reason: 'customerDecline' });
    at('2026-03-10T07:00:00Z');
    await expect(service.act(b.id, 'denyConsent', CUSTOMER, {})).rejects.toMatchObject({ code: 'invalidState' });
  });

  it('a dispute is possible for 30 days after rejection and refused with windowClosed after', async () => {
    const { service, at } = harness();
    const c = await claimIn(service, 'submitted');
    await service.act(c.id, 'withdraw', PARTNER, {});
    at('2026-04-01T20:00:00Z'); // 30 days after Mar 2 is Apr 1: still the last whole day
    const early = await claimIn(service, 'submitted');
    await service.act(early.id, 'withdraw', PARTNER, {});
    const disputed = await service.act(c.id, 'dispute', PARTNER, { program: 'OSU', details: 'x' });
    expect(disputed.claim.status).toBe('disputed');
    at('2026-05-02T07:00:00Z');
    await expect(service.act(early.id, 'dispute', PARTNER, { program: 'OSU', details: 'x' })).rejects.toMatchObject({
      code: 'windowClosed',
    });
  });
});

describe('claim service writes', () => {
  it('a refused event changes nothing: same version, no history entry', async () => {
    const { service } = harness();
    const claim = await claimIn(service, 'submitted');
    const before = await service.history(claim.id);
    await expect(service.act(claim.id, 'approve', REVIEWER, {})).rejects.toBeInstanceOf(DomainError);
    expect((await service.getClaim(claim.id)).version).toBe(claim.version);
    expect(await service.history(claim.id)).toEqual(before);
  });

  it('submit without PoE is refused with requirementsNotMet naming what is missing', async () => {
    const { service } = harness();
    const { claim } = await service.create(PARTNER, claimFields());
    await expect(service.act(claim.id, 'submit', PARTNER, {})).rejects.toMatchObject({
      code: 'requirementsNotMet',
      message: expect.stringContaining('proof-of-execution'),
    });
  });

  it('a stale expected version is refused with staleVersion', async () => {
    const { service } = harness();
    const { claim } = await service.create(PARTNER, claimFields());
    await service.act(claim.id, 'edit', PARTNER, { mpnId: '4512399' }, { expectedVersion: 1 });
    await expect(service.act(claim.id, 'edit', PARTNER, { mpnId: '4512300' }, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'staleVersion',
    });
  });

  it('history entries say who, with which role, when, what, from, to and under which policy version', async () => {
    const { service } = harness();
    const claim = await claimIn(service, 'submitted');
    const history = await service.history(claim.id);
    expect(history.map((e) => [e.seq, e.event, e.from, e.to])).toEqual([
      [1, 'create', 'new', 'editing'],
      [2, 'uploadPoe', 'editing', 'editing'],
      [3, 'submit', 'editing', 'submitted'],
    ]);
    expect(history[1]).toMatchObject({
      actor: PARTNER,
      at: '2026-03-02T17:00:00.000Z',
      payload: POE,
      policy: { id: 'cpor', version: '2026.1' },
      refs: { poeId: 'poe-1' },
    });
  });

  it('advisory deficiencies are recomputed on every change and never block submission', async () => {
    const { service } = harness();
    const { claim } = await service.create(PARTNER, claimFields());
    expect(claim.deficiencies).toEqual(['missingAllPoe']);
    await service.act(claim.id, 'uploadPoe', PARTNER, { ...POE, customerSigned: false });
    const result = await service.act(claim.id, 'submit', PARTNER, {});
    expect(result.claim).toMatchObject({ status: 'submitted', deficiencies: ['missingCustomerAcknowledgment'] });
  });
});

describe('replay', () => {
  it("replaying a claim's history through the service reproduces the claim", async () => {
    const { service, at } = harness();
    const claim = await claimIn(service, 'submitted');
    at('2026-03-04T18:00:00Z');
    await service.act(claim.id, 'startReview', REVIEWER, {});
    await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingProducts'], comment: 'x' });
    at('2026-03-06T18:00:00Z');
    await service.act(claim.id, 'edit', PARTNER, { products: [{ line: 'microsoft365', workload: 'teams' }] });
    await service.act(claim.id, 'resubmit', PARTNER, {});
    at('2026-03-07T18:00:00Z');
    await service.act(claim.id, 'approve', REVIEWER, {});
    at('2026-04-30T00:00:00Z');
    await service.fireDue();
    const original = await service.getClaim(claim.id);
    const history = await service.history(claim.id);
    const replayed = await replayHistory(bundled, history, new Date('2026-04-30T00:00:00Z'));
    expect(replayed.refused).toEqual([]);
    expect({ ...replayed.claim, version: 0 }).toEqual({ ...original, version: 0 });
    expect(replayed.history).toEqual(history);
  });

  it('replaying under a policy with another deadline shows the different outcome', async () => {
    const { service, at } = harness();
    const claim = await claimIn(service, 'submitted');
    at('2026-03-04T18:00:00Z');
    await service.act(claim.id, 'startReview', REVIEWER, {});
    await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingProducts'], comment: 'x' });
    at('2026-03-13T18:00:00Z'); // 7 business days later: too late under the bundled 5
    await service.fireDue();
    const history = await service.history(claim.id);
    const generous = compilePolicy(
      withPolicy(bundled.policy, (p) => {
        p.deadlines.partnerResponse!.businessDays = 10;
      }),
    );
    const replayed = await replayHistory(generous, history, new Date('2026-03-13T18:00:00Z'));
    expect((await service.getClaim(claim.id)).status).toBe('rejected');
    expect(replayed.claim?.status).toBe('partnerActionRequired');
  });
});
