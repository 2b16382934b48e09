// The types code reads are derived from the JSON Schemas that validate the same data (json-schema-to-ts):
// these checks fail at type-check time (`npm run typecheck`) when a schema and what code expects drift apart.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ClaimFields, DisputeOutcome, Product } from '../../src/domain/claim-types';
import { validatePayload, type EventPayloads } from '../../src/machines/event-payloads';
import type { FromSchema } from 'json-schema-to-ts';
import type { CalendarPolicy } from '../../src/calendar/calendar';
import type { policySchema } from '../../src/rules/policy-schema';
import type {
  Condition,
  ConflictPolicy,
  Deficiency,
  EventPolicy,
  IncentiveProgram,
  LimitsPolicy,
  RejectionReason,
  RolePolicy,
  SubmissionRequirement,
} from '../../src/rules/policy-types';
import type { EventType, StateId, Status, Substatus } from '../../src/domain/claim-types';
import type { claimEvaluationSchema } from '../../src/evaluation/claim-evaluation-schema';
import type { ClaimEvaluation, EvaluationInput } from '../../src/evaluation/evaluate-claim';
import type { OutcomeExpectation, ScenarioActor, ScenarioStep } from '../../src/simulate/scenario';

describe('types derived from the claim and payload schemas', () => {
  it('a product is a Microsoft 365 workload or a Business Applications product with its subscription', () => {
    expectTypeOf<Product>().toEqualTypeOf<
      | { line: 'microsoft365'; workload: 'exchange' | 'sharePoint' | 'oneDrive' | 'teams' | 'intune' | 'windows' | 'office365Apps' }
      | {
          line: 'businessApplications';
          product:
            | 'dynamics365Sales'
            | 'dynamics365CustomerService'
            | 'dynamics365FieldService'
            | 'dynamics365Finance'
            | 'dynamics365SupplyChain'
            | 'powerApps'
            | 'powerAutomate'
            | 'powerBI';
          subscriptionId: string;
        }
    >();
  });

  it("a claim's fields are the create payload's, with products always present", () => {
    expectTypeOf<ClaimFields['products']>().toEqualTypeOf<Product[]>();
    expectTypeOf<EventPayloads['create']['products']>().toEqualTypeOf<Product[] | undefined>();
    expectTypeOf<Omit<ClaimFields, 'products'>>().toEqualTypeOf<Omit<EventPayloads['create'], 'products'>>();
    expectTypeOf<ClaimFields['customer']>().toEqualTypeOf<{ tenantId: string; domain: string; name: string }>();
    expectTypeOf<ClaimFields['name']>().toEqualTypeOf<string | undefined>();
  });

  it('each payload type has the keys its schema requires, typed', () => {
    expectTypeOf<EventPayloads['reject']>().toEqualTypeOf<{ reason: string; comment?: string }>();
    expectTypeOf<EventPayloads['resolveDispute']>().toEqualTypeOf<{ outcome: DisputeOutcome; comment: string }>();
    expectTypeOf<EventPayloads['requestInfo']>().toEqualTypeOf<{ deficiencies: string[]; comment: string }>();
    expectTypeOf<EventPayloads['removePoe']>().toEqualTypeOf<{ poeId: string; comment?: string }>();
    expectTypeOf<EventPayloads['edit']>().toEqualTypeOf<Partial<EventPayloads['create']>>();
  });

  it('a payload the derived type admits passes the schema, and one it does not is refused', () => {
    const reject: EventPayloads['reject'] = { reason: 'insufficientPoe' };
    expect(validatePayload('reject', reject)).toBeUndefined();
    expect(validatePayload('reject', { comment: 'no reason' })).toMatchObject({ path: '$.reason' });
  });
});

describe('types derived from the policy schema', () => {
  it('roles, event permissions and rejection reasons have the keys the schema requires', () => {
    expectTypeOf<RolePolicy>().toEqualTypeOf<{ kind: 'partner' | 'reviewer' | 'customer' | 'internal'; description?: string }>();
    expectTypeOf<EventPolicy>().toEqualTypeOf<{ roles: string[]; description?: string }>();
    expectTypeOf<RejectionReason>().toEqualTypeOf<{ code: string; description: string; usableBy: string[] }>();
  });

  it('rules keep their conditions typed as json-rules-engine conditions', () => {
    expectTypeOf<Omit<SubmissionRequirement, 'when'>>().toEqualTypeOf<{ code: string; message: string }>();
    expectTypeOf<SubmissionRequirement['when']>().toExtend<Condition>();
    expectTypeOf<Condition>().toExtend<SubmissionRequirement['when']>();
    expectTypeOf<Omit<Deficiency, 'when'>>().toEqualTypeOf<{ code: string; description: string }>();
    expectTypeOf<Deficiency>().toHaveProperty('when').toExtend<Condition | undefined>();
    expectTypeOf<Omit<IncentiveProgram, 'eligibility'>>().toEqualTypeOf<{ code: string; name: string; illustrative?: boolean }>();
    expectTypeOf<Condition>().toExtend<IncentiveProgram['eligibility']>();
  });

  it('sections with defaults are typed as loaded: the defaulted keys are present', () => {
    expectTypeOf<ConflictPolicy>().toEqualTypeOf<{
      description?: string;
      activeStatuses: StateId[];
      settle: 'mostRecentValidPoe';
      validPoe: { customerSigned: boolean };
    }>();
    expectTypeOf<LimitsPolicy>().toEqualTypeOf<{ disputesPerClaim?: number; poeDocumentsPerClaim?: number; poeBytesPerClaim?: number }>();
  });

  it("the calendar's own type (calendar/) agrees with the policy schema's calendar section", () => {
    type CalendarSection = FromSchema<
      (typeof policySchema)['properties']['calendar'] & { definitions: Pick<(typeof policySchema)['definitions'], 'weekday'> }
    >;
    expectTypeOf<CalendarSection>().toEqualTypeOf<CalendarPolicy>();
  });
});

describe('types derived from the evaluation and scenario schemas', () => {
  it('an evaluation input names states and events from the lifecycle, and its optional parts are optional', () => {
    expectTypeOf<EvaluationInput['claim']['status']>().toEqualTypeOf<StateId>();
    expectTypeOf<EvaluationInput['claim']['substatus']>().toEqualTypeOf<Substatus | undefined>();
    expectTypeOf<NonNullable<EvaluationInput['claim']['history']>[number]>().toEqualTypeOf<{ at: string; to: StateId }>();
    expectTypeOf<NonNullable<EvaluationInput['event']>['type']>().toEqualTypeOf<EventType>();
    expectTypeOf<EvaluationInput['asOf']>().toEqualTypeOf<string>();
    expectTypeOf<EvaluationInput['policyVersion']>().toEqualTypeOf<string | undefined>();
  });

  it("an evaluation's answer (kept written by hand: explanations are recursive) fits its documented schema", () => {
    // Compiles only while every ClaimEvaluation is a value the documented schema describes.
    const documented = (answer: ClaimEvaluation): FromSchema<typeof claimEvaluationSchema> => answer;
    expectTypeOf(documented).returns.toHaveProperty('rulesFired').toEqualTypeOf<string[]>();
  });

  it('a scenario step is an action by someone or a clock advance, each with its line', () => {
    expectTypeOf<ScenarioActor>().toEqualTypeOf<string | { role: string; partnerId?: string; tenantId?: string; id?: string }>();
    expectTypeOf<Extract<ScenarioStep, { until: string }>>().toHaveProperty('line').toEqualTypeOf<number>();
    expectTypeOf<Extract<ScenarioStep, { do: string }>['do']>().toEqualTypeOf<EventType>();
    expectTypeOf<OutcomeExpectation['status']>().toEqualTypeOf<Status | undefined>();
    expectTypeOf<NonNullable<OutcomeExpectation['deadlines']>[string]>().toEqualTypeOf<'fired' | 'met' | 'pending'>();
  });
});
