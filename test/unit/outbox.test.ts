import { describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { compilePolicy } from '../../src/policies/compiled-policy';
import { parsePolicy } from '../../src/rules/load-policy';
import { bundledPolicyData, policyYaml } from '../support/policy-factory';
import { ACTORS, claimFields, poePayload } from '../support/factories';

const PARTNER = ACTORS.partner;
const REVIEWER = ACTORS.reviewer;
const POE = poePayload();

async function setup() {
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const store = createMemoryClaimStore();
  const service = createClaimService({ store, policy: await compiledBundledPolicy(), clock, ids: createSequentialIds() });
  const { claim } = await service.create(PARTNER, claimFields({ activity: 'deployment' }));
  await service.act(claim.id, 'uploadPoe', PARTNER, POE);
  await service.act(claim.id, 'submit', PARTNER, {});
  await service.act(claim.id, 'startReview', REVIEWER, {});
  return { clock, store, service, id: claim.id };
}

describe('outbox', () => {
  it('a request for information tells the partner the codes, the comment and the response deadline', async () => {
    const { store, service, id } = await setup();
    await service.act(id, 'requestInfo', REVIEWER, { deficiencies: ['missingProducts'], comment: 'Which workloads?' });
    const [message] = await store.listOutbox({ limit: 10 });
    expect(message).toMatchObject({
      type: 'claim.informationRequested',
      audience: 'partner',
      status: 'pending',
      payload: { deficiencies: ['missingProducts'], comment: 'Which workloads?', responseDeadline: '2026-03-10T07:00:00.000Z' },
    });
  });

  it('approval notifies the customer with the consent deadline; the window passing sends the claim for assessment', async () => {
    const { clock, store, service, id } = await setup();
    await service.act(id, 'approve', REVIEWER, {});
    clock.set(new Date('2026-03-12T00:00:00Z'));
    await service.fireDue();
    const messages = await store.listOutbox({ claimId: id, limit: 10 });
    expect(messages.map((m) => [m.type, m.audience])).toEqual([
      ['claim.approved', 'customer'],
      ['claim.sentForAssessment', 'assessment'],
    ]);
    expect(messages[0]!.payload).toMatchObject({
      tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01',
      customerContact: { email: 'ana@contoso.com' },
      consentDeadline: { due: '2026-03-09', dueAt: '2026-03-10T07:00:00.000Z' },
    });
    expect(messages[1]!.payload).toMatchObject({ programs: [{ code: 'OSU', eligible: true }, { code: 'OSA', eligible: false }] });
  });

  it('a rejection tells the partner the reason; a refused event emits nothing', async () => {
    const { store, service, id } = await setup();
    await expect(service.act(id, 'reject', REVIEWER, { reason: 'nope' })).rejects.toThrow();
    expect(await store.listOutbox({ limit: 10 })).toEqual([]);
    await service.act(id, 'reject', REVIEWER, { reason: 'insufficientPoe' });
    const [message] = await store.listOutbox({ limit: 10 });
    expect(message).toMatchObject({ type: 'claim.rejected', payload: { reason: 'insufficientPoe' } });
  });

  describe('under a policy that names its deadlines otherwise', () => {
    /** The bundled policy with consentWindow named optOutPeriod and partnerResponse named answerWithin. */
    async function renamedSetup() {
      const { deadlines } = bundledPolicyData() as { deadlines: Record<string, unknown> };
      const yaml = policyYaml({
        deadlines: { consentWindow: undefined, partnerResponse: undefined, optOutPeriod: deadlines.consentWindow, answerWithin: deadlines.partnerResponse },
      });
      const loaded = parsePolicy(yaml, 'renamed.yaml');
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
      const store = createMemoryClaimStore();
      const service = createClaimService({ store, policy: compilePolicy(loaded.policy), clock, ids: createSequentialIds() });
      const { claim } = await service.create(PARTNER, claimFields({ activity: 'deployment' }));
      await service.act(claim.id, 'uploadPoe', PARTNER, POE);
      await service.act(claim.id, 'submit', PARTNER, {});
      await service.act(claim.id, 'startReview', REVIEWER, {});
      return { store, service, id: claim.id };
    }

    it('the consent notice still carries the consent deadline, found by what the deadline does', async () => {
      const { store, service, id } = await renamedSetup();
      await service.act(id, 'approve', REVIEWER, {});
      const [message] = await store.listOutbox({ claimId: id, limit: 10 });
      expect(message!.payload).toMatchObject({ consentDeadline: { due: '2026-03-09', dueAt: '2026-03-10T07:00:00.000Z' } });
    });

    it('a request for information still carries the response deadline', async () => {
      const { store, service, id } = await renamedSetup();
      await service.act(id, 'requestInfo', REVIEWER, { deficiencies: ['missingProducts'], comment: 'Which workloads?' });
      const [message] = await store.listOutbox({ claimId: id, limit: 10 });
      expect(message!.payload).toMatchObject({ responseDeadline: '2026-03-10T07:00:00.000Z' });
    });
  });
});
