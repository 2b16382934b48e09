import { describe, expect, it } from 'vitest';
import { isInAnyState, isInState } from '../../src/domain/claim-types';

describe('a machine state inside a policy state', () => {
  it('an approved substate lies in approved and in itself, not in its sibling', () => {
    expect(isInState('approved.consentPending', 'approved')).toBe(true);
    expect(isInState('approved.consentPending', 'approved.consentPending')).toBe(true);
    expect(isInState('approved.consentPending', 'approved.sentForAssessment')).toBe(false);
  });

  it('a state is not inside one whose name merely starts like it', () => {
    expect(isInState('approvedLater', 'approved')).toBe(false);
    expect(isInState('approved', 'approved.consentPending')).toBe(false);
  });

  it('a state lies in a list when it lies in any entry; no list holds nothing', () => {
    expect(isInAnyState('approved.sentForAssessment', ['submitted', 'approved'])).toBe(true);
    expect(isInAnyState('rejected', ['submitted', 'approved'])).toBe(false);
    expect(isInAnyState('rejected', undefined)).toBe(false);
  });
});
