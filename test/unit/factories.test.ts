import { describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { ACTORS, claimIn, OTHER_PARTNER_ID, partnerOf, PATHS, type ClaimStatus } from '../support/factories';

async function service() {
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const svc = createClaimService({ store: createMemoryClaimStore(), policy: await compiledBundledPolicy(), clock, ids: createSequentialIds() });
  return { service: svc, setClock: (at: Date) => clock.set(at) };
}

describe('claimIn (a claim in each status, through the real service)', () => {
  it.each(Object.keys(PATHS) as ClaimStatus[])('brings a claim to %s by the events of its path', async (status) => {
    const { service: svc, setClock } = await service();
    const claim = await claimIn(svc, status, { setClock });
    expect([claim.status, claim.substatus].filter(Boolean).join('.')).toBe(status);
    const events = (await svc.history(claim.id)).map((e) => e.event);
    expect(events).toEqual(['create', ...PATHS[status].map((step) => ('deadline' in step ? `${step.deadline}Due` : step.event))]);
  });

  it('takes field overrides and another partner', async () => {
    const { service: svc } = await service();
    const other = partnerOf(OTHER_PARTNER_ID);
    const claim = await claimIn(svc, 'submitted', { fields: { partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID }, actors: { partner: other } });
    expect(claim.snapshot.context.fields.partnerId).toBe(OTHER_PARTNER_ID);
    expect((await svc.history(claim.id)).every((e) => e.actor.id === other.id || e.actor.role === ACTORS.reviewer.role)).toBe(true);
  });

  it('refuses to reach a status behind a deadline without a clock to move', async () => {
    const { service: svc } = await service();
    await expect(claimIn(svc, 'approved.sentForAssessment')).rejects.toThrow(/needs setClock/);
  });
});
