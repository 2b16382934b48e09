/**
 * Stepping the claim machine is cheap (issue 12): one actor scope per machine instead of an
 * actor per step, and a step that runs no action keeps the context it met instead of copying
 * it through JSON. The snapshot is the same either way: its stored (JSON) form.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createClaimMachine, initialSnapshot, stepClaim, type ClaimMachine, type ClaimSnapshot } from '../../src/machines/claim-machine';
import type { ClaimEvent } from '../../src/domain/claim-types';
import { bundledPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, poePayload } from '../support/factories';

const AT = '2026-03-02T17:00:00.000Z';

let machine: ClaimMachine;
beforeAll(async () => {
  machine = createClaimMachine(await bundledPolicy());
});

function step(snapshot: ClaimSnapshot, event: Omit<ClaimEvent, 'at'>): ClaimSnapshot {
  const result = stepClaim(machine, snapshot, { ...event, at: AT });
  if (!result.ok) throw new Error(`refused: ${result.refusal.code}`);
  return result.snapshot;
}

/** A submitted claim's snapshot, as a store gives it back (parsed JSON). */
function submitted(): ClaimSnapshot {
  let snapshot = initialSnapshot(machine);
  snapshot = step(snapshot, { type: 'create', actor: ACTORS.partner, payload: { ...claimFields() }, meta: { claimId: 'claim-1' } });
  snapshot = step(snapshot, { type: 'uploadPoe', actor: ACTORS.partner, payload: poePayload(), meta: { poeId: 'poe-1' } });
  snapshot = step(snapshot, { type: 'submit', actor: ACTORS.partner, payload: {}, meta: { requirements: { passed: true, failed: [] } } });
  return JSON.parse(JSON.stringify(snapshot)) as ClaimSnapshot;
}

describe('stepping the claim machine', () => {
  it('a step that runs no action (startReview) moves the state and keeps the context it met, equal to its JSON form', () => {
    const before = submitted();
    const after = step(before, { type: 'startReview', actor: ACTORS.reviewer, payload: {} });
    expect(after.value).toBe('underReview');
    expect(after.context).toBe(before.context);
    expect(after).toEqual(JSON.parse(JSON.stringify(after)));
  });

  it('a step whose action changes the context (requestInfo) gets a fresh context in its JSON form; the one it met is unchanged', () => {
    const before = step(submitted(), { type: 'startReview', actor: ACTORS.reviewer, payload: {} });
    const copy = JSON.parse(JSON.stringify(before)) as ClaimSnapshot;
    const after = step(before, { type: 'requestInfo', actor: ACTORS.reviewer, payload: { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Sign it' } });
    expect(after.value).toBe('partnerActionRequired');
    expect(after.context).not.toBe(before.context);
    expect(after.context.requestedDeficiencies).toEqual(['missingCustomerAcknowledgment']);
    expect(after).toEqual(JSON.parse(JSON.stringify(after)));
    expect(before).toEqual(copy);
  });

  it('steps in one machine do not leak into each other: the same event on the same snapshot gives the same snapshot every time', () => {
    const before = submitted();
    const first = step(before, { type: 'startReview', actor: ACTORS.reviewer, payload: {} });
    for (let i = 0; i < 3; i++) expect(step(before, { type: 'startReview', actor: ACTORS.reviewer, payload: {} })).toEqual(first);
    const approved = step(first, { type: 'approve', actor: ACTORS.reviewer, payload: {} });
    expect(approved.value).toEqual({ approved: 'consentPending' });
    expect(step(first, { type: 'approve', actor: ACTORS.reviewer, payload: {} })).toEqual(approved);
  });
});
