/** A policy with everything built from it once: calendar, machine, rule engines. */
import { createCalendar, type Calendar } from '../calendar';
import { createClaimMachine, type ClaimMachine } from '../machines/claim-machine';
import { createRuleSet, type RuleSet } from '../rules/evaluate-rules';
import type { Policy } from '../rules/policy-types';

export interface CompiledPolicy {
  readonly policy: Policy;
  readonly calendar: Calendar;
  readonly claim: ClaimMachine;
  readonly rules: RuleSet;
}

export function compilePolicy(policy: Policy): CompiledPolicy {
  return {
    policy,
    calendar: createCalendar(policy.calendar),
    claim: createClaimMachine(policy),
    rules: createRuleSet(policy),
  };
}
