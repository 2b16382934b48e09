import { describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import { canonicalJson, hashEntry, verifyChain } from '../../src/claims/history-chain';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { claimFields } from '../support/claim-factory';

const PARTNER = { role: 'incentivesAdmin', partnerId: '4512345' };
const POE = { fileName: 'sow.pdf', customerSigned: true, signedOn: '2026-02-20', products: ['teams'], describesWork: true };

async function historyOfAClaim() {
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const service = createClaimService({ store: createMemoryClaimStore(), policy: await compiledBundledPolicy(), clock, ids: createSequentialIds() });
  const { claim } = await service.create(PARTNER, claimFields());
  await service.act(claim.id, 'uploadPoe', PARTNER, POE);
  await service.act(claim.id, 'submit', PARTNER, {});
  clock.set(new Date('2026-03-20T00:00:00Z'));
  await service.fireDue();
  await service.act(claim.id, 'comment', PARTNER, { text: 'Any news?' });
  return service.history(claim.id);
}

describe('history chain', () => {
  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('each entry links to the previous one and the chain of a service-written history verifies', async () => {
    const history = await historyOfAClaim();
    expect(history.length).toBeGreaterThanOrEqual(5); // create, uploadPoe, submit, two deadlines, comment
    expect(history[0]!.prevHash).toBeNull();
    for (let i = 1; i < history.length; i++) expect(history[i]!.prevHash).toBe(history[i - 1]!.hash);
    expect(verifyChain(history)).toEqual({ ok: true, entries: history.length });
  });

  it('an edited payload is found at its entry', async () => {
    const history = await historyOfAClaim();
    history[2] = { ...history[2]!, payload: { comment: 'rewritten' } };
    expect(verifyChain(history)).toMatchObject({ ok: false, seq: 3, problem: expect.stringContaining('edited') });
  });

  it('an edited entry whose hash was recomputed is found at the next entry', async () => {
    const history = await historyOfAClaim();
    const forged = { ...history[1]!, actor: { role: 'reviewer' } };
    history[1] = { ...forged, hash: hashEntry(forged) };
    expect(verifyChain(history)).toMatchObject({ ok: false, seq: 3, problem: expect.stringContaining('prevHash') });
  });

  it('a removed entry is found where the sequence breaks', async () => {
    const history = await historyOfAClaim();
    history.splice(1, 1);
    expect(verifyChain(history)).toMatchObject({ ok: false, seq: 3 });
  });
});
