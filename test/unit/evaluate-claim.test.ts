import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { digestInput, jsonText } from '../../src/claims/decision-digest';
import { evaluationRecord, verdictOf } from '../../src/evaluation/evaluation-decision';
import { decisionRow } from '../../src/db/claim-rows';
import { evaluateClaim, evaluationInputSchema, type EvaluationInput } from '../../src/evaluation/evaluate-claim';
import { stepClaim } from '../../src/machines/claim-machine';
import type { ClaimEvent } from '../../src/domain/claim-types';
import { DomainError } from '../../src/domain/errors';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, poeDocument, poePayload } from '../support/factories';

// An evaluation's actor is who sends the event: role and partner ID, no user id.
const { id: _id, ...PARTNER } = ACTORS.partner;
const POE = poePayload();

/** A Monday, 09:00 in Los Angeles (PST). */
const SUBMITTED_AT = '2026-03-02T17:00:00Z';
const HISTORY = {
  created: { at: '2026-03-02T16:00:00Z', to: 'editing' },
  submitted: { at: SUBMITTED_AT, to: 'submitted' },
  underReview: { at: '2026-03-04T16:00:00Z', to: 'underReview' },
  /** Thursday 2026-03-05 local. */
  partnerActionRequired: { at: '2026-03-05T16:00:00Z', to: 'partnerActionRequired' },
  /** Monday 2026-03-09 local: the pause covered Thursday and Friday. */
  resubmitted: { at: '2026-03-09T16:00:00Z', to: 'underReview' },
  /** Friday 2026-03-06 local. */
  rejected: { at: '2026-03-06T20:00:00Z', to: 'rejected' },
} as const;

let compiled: CompiledPolicy;

beforeAll(async () => {
  compiled = await compiledBundledPolicy();
});

/** An evaluation input: a complete claim in `editing` with one good PoE, at submission time; overrides replace whole parts. */
function input(claim: Partial<EvaluationInput['claim']> = {}, rest: Partial<Omit<EvaluationInput, 'claim'>> = {}): EvaluationInput {
  return {
    claim: { id: 'claim-1', fields: claimFields(), status: 'editing', poe: [{ ...POE }], history: [HISTORY.created], ...claim },
    asOf: SUBMITTED_AT,
    ...rest,
  };
}

const submitted = (asOf: string, history = [HISTORY.created, HISTORY.submitted]) =>
  input({ status: 'submitted', history: [...history] }, { asOf });

const rejected = (asOf: string, event?: EvaluationInput['event']) =>
  input(
    { status: 'rejected', reason: 'insufficientPoe', history: [HISTORY.created, HISTORY.submitted, HISTORY.underReview, HISTORY.rejected] },
    { asOf, ...(event ? { event } : {}) },
  );

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

async function inputError(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe('submission', () => {
  it('an editing claim without PoE has submit blocked with requirementsNotMet and missingAllPoe found, explained by poeCount 0', async () => {
    const evaluation = await evaluateClaim(compiled, input({ poe: [] }));

    expect(evaluation.allowedEvents.map((e) => e.event)).not.toContain('submit');
    const blocked = evaluation.blockedEvents.find((e) => e.event === 'submit');
    expect(blocked?.code).toBe('requirementsNotMet');
    expect(blocked?.message).toContain('proof-of-execution');

    expect(evaluation.submissionRequirements.passed).toBe(false);
    expect(evaluation.submissionRequirements.results.find((r) => r.code === 'poeRequired')).toMatchObject({
      passed: false,
      explanation: { all: [{ fact: 'poeCount', operator: 'greaterThanInclusive', value: 1, factValue: 0, result: false }] },
    });

    const missing = evaluation.deficiencies.find((d) => d.code === 'missingAllPoe');
    expect(missing).toMatchObject({
      found: true,
      description: expect.stringContaining('PoE is missing'),
      explanation: { all: [{ fact: 'poeCount', operator: 'equal', value: 0, factValue: 0, result: true }], result: true },
    });
    expect(missing?.summary).toContain('poeCount is 0');
    expect(evaluation.rulesFired).toContain('missingAllPoe');
    expect(evaluation.rulesFired).not.toContain('poeRequired');
  });

  it('a complete editing claim may be submitted by the partner roles, and lists the fields editable in editing', async () => {
    const evaluation = await evaluateClaim(compiled, input());

    expect(evaluation).toMatchObject({ policy: { id: 'cpor', version: '2026.1' }, status: 'editing', substatus: null });
    expect(evaluation.allowedEvents).toContainEqual({ event: 'submit', roles: ['billingAdmin', 'globalAdmin', 'incentivesAdmin'] });
    expect(evaluation.blockedEvents).toEqual([]);
    expect(evaluation.submissionRequirements.passed).toBe(true);
    expect(evaluation.deficiencies.filter((d) => d.found)).toEqual([]);
    expect(evaluation.editableFields).toEqual([...compiled.policy.editableFields.editing!]);
    expect(evaluation.rulesFired).toEqual(['poeRequired', 'productsRequired']);
  });

  it('lists only the events of the state, with the roles each may be sent by', async () => {
    const evaluation = await evaluateClaim(
      compiled,
      input({ status: 'underReview', history: [HISTORY.created, HISTORY.submitted, HISTORY.underReview] }, { asOf: '2026-03-05T00:00:00Z' }),
    );

    expect(Object.fromEntries(evaluation.allowedEvents.map((e) => [e.event, e.roles]))).toEqual({
      comment: ['billingAdmin', 'globalAdmin', 'incentivesAdmin', 'reviewer'],
      requestInfo: ['reviewer'],
      approve: ['reviewer'],
      reject: ['reviewer', 'system'],
      withdraw: ['billingAdmin', 'globalAdmin', 'incentivesAdmin'],
    });
    expect(evaluation.editableFields).toEqual([]);
  });
});

describe('deadlines', () => {
  it('a submitted claim has reviewStart and decisionTarget running with their due instants', async () => {
    const evaluation = await evaluateClaim(compiled, submitted('2026-03-03T12:00:00Z'));

    expect(evaluation.deadlines).toEqual([
      { name: 'reviewStart', startedAt: '2026-03-02T17:00:00.000Z', due: '2026-03-09', dueAt: '2026-03-10T07:00:00.000Z', status: 'running', overdue: false },
      { name: 'decisionTarget', startedAt: '2026-03-02T17:00:00.000Z', due: '2026-03-16', dueAt: '2026-03-17T07:00:00.000Z', status: 'running', overdue: false },
    ]);
    expect(evaluation.overdue).toEqual([]);
  });

  it('a deadline is overdue once asOf reaches its due instant, not before', async () => {
    const before = await evaluateClaim(compiled, submitted('2026-03-10T06:59:59.999Z'));
    const at = await evaluateClaim(compiled, submitted('2026-03-10T07:00:00.000Z'));

    expect(before.overdue).toEqual([]);
    expect(at.overdue).toEqual(['reviewStart']);
    expect(at.deadlines.find((d) => d.name === 'reviewStart')).toMatchObject({ status: 'fired', overdue: true });
    expect(at.status).toBe('submitted');
    // The same history evaluated earlier again: nothing of the later evaluation carries over.
    expect((await evaluateClaim(compiled, submitted('2026-03-10T06:59:59.999Z'))).overdue).toEqual([]);
  });

  it('a pause in partnerActionRequired extends decisionTarget by the business days it lasted', async () => {
    const evaluation = await evaluateClaim(
      compiled,
      input(
        {
          status: 'underReview',
          history: [HISTORY.created, HISTORY.submitted, HISTORY.underReview, HISTORY.partnerActionRequired, HISTORY.resubmitted],
        },
        { asOf: '2026-03-10T12:00:00Z' },
      ),
    );

    const target = evaluation.deadlines.filter((d) => d.name === 'decisionTarget');
    expect(target).toEqual([
      { name: 'decisionTarget', startedAt: '2026-03-02T17:00:00.000Z', due: '2026-03-18', dueAt: '2026-03-19T07:00:00.000Z', status: 'running', overdue: false },
    ]);
    expect(evaluation.deadlines.find((d) => d.name === 'partnerResponse')).toMatchObject({ status: 'met' });
  });

  it('a claim without history has no deadlines', async () => {
    const evaluation = await evaluateClaim(compiled, input({ status: 'submitted', history: [] }));
    expect(evaluation.deadlines).toEqual([]);
  });

  it('a history that does not end in the claim status, or goes backwards, or lies after asOf, is an input error', async () => {
    expect(await inputError(evaluateClaim(compiled, input({ status: 'underReview', history: [HISTORY.created, HISTORY.submitted] })))).toMatchObject({
      code: 'historyMismatch',
      path: '$.claim.history[1].to',
    });
    expect(await inputError(evaluateClaim(compiled, submitted('2026-03-10T00:00:00Z', [HISTORY.submitted, HISTORY.created])))).toMatchObject({
      code: 'historyOutOfOrder',
    });
    expect(await inputError(evaluateClaim(compiled, submitted('2026-03-02T16:30:00Z')))).toMatchObject({ code: 'historyAfterAsOf' });
  });
});

describe('dispute window', () => {
  it('a rejected claim may be disputed within 30 days', async () => {
    const evaluation = await evaluateClaim(compiled, rejected('2026-04-05T12:00:00Z'));

    expect(evaluation.allowedEvents).toContainEqual({ event: 'dispute', roles: ['billingAdmin', 'globalAdmin', 'incentivesAdmin'] });
    expect(evaluation.deadlines.find((d) => d.name === 'disputeWindow')).toMatchObject({
      due: '2026-04-05',
      dueAt: '2026-04-06T07:00:00.000Z',
      status: 'running',
    });
  });

  it('after 30 days a dispute is blocked with windowClosed, and the event answer is refused the same way', async () => {
    const dispute = { type: 'dispute' as const, ...PARTNER, payload: { program: 'OSU', details: 'The PoE was signed' } };
    const evaluation = await evaluateClaim(compiled, rejected('2026-04-06T07:00:00Z', dispute));

    expect(evaluation.allowedEvents.map((e) => e.event)).not.toContain('dispute');
    expect(evaluation.blockedEvents).toEqual([
      { event: 'dispute', code: 'windowClosed', message: 'dispute is no longer possible: the disputeWindow deadline has passed.' },
    ]);
    expect(evaluation.event).toMatchObject({ type: 'dispute', allowed: false, refusal: { code: 'windowClosed' } });
    expect(evaluation.overdue).toEqual([]);
  });
});

describe('policy-driven roles', () => {
  it('allowedEvents take their roles from the policy evaluated under', async () => {
    const variant = compilePolicy(
      withPolicy(compiled.policy, (draft) => {
        draft.events.startReview.roles = ['reviewer', 'programManager'];
        draft.events.withdraw.roles = ['globalAdmin'];
      }),
    );
    const at = submitted('2026-03-03T12:00:00Z');

    const bundled = await evaluateClaim(compiled, at);
    const changed = await evaluateClaim(variant, at);

    expect(bundled.allowedEvents.find((e) => e.event === 'startReview')?.roles).toEqual(['reviewer']);
    expect(changed.allowedEvents.find((e) => e.event === 'startReview')?.roles).toEqual(['reviewer', 'programManager']);
    expect(changed.allowedEvents.find((e) => e.event === 'withdraw')?.roles).toEqual(['globalAdmin']);
  });

  it('a role that may not give the reason an event records is not listed for it', async () => {
    const variant = compilePolicy(
      withPolicy(compiled.policy, (draft) => {
        draft.rejectionReasons.find((r) => r.code === 'partnerRequest')!.usableBy = ['incentivesAdmin'];
      }),
    );
    const evaluation = await evaluateClaim(variant, submitted('2026-03-03T12:00:00Z'));
    expect(evaluation.allowedEvents.find((e) => e.event === 'withdraw')?.roles).toEqual(['incentivesAdmin']);
  });
});

describe('the optional event', () => {
  const cases: Array<[string, EvaluationInput]> = [
    ['an allowed edit', input({}, { event: { type: 'edit', ...PARTNER, payload: { mpnId: '4512399' } } })],
    ['a field not editable when submitted', submitted('2026-03-03T12:00:00Z')],
    ['a forbidden role', input({}, { event: { type: 'startReview', role: 'reviewer' } })],
    ['another partner', input({}, { event: { type: 'submit', role: 'incentivesAdmin', partnerId: '4599999' } })],
    ['an invalid payload', input({}, { event: { type: 'uploadPoe', ...PARTNER, payload: { fileName: 'x.pdf' } } })],
    ['unmet requirements', input({ poe: [] }, { event: { type: 'submit', ...PARTNER } })],
    ['an allowed submit', input({}, { event: { type: 'submit', ...PARTNER } })],
    ['an unknown deficiency', input({ status: 'underReview', history: [] }, { event: { type: 'requestInfo', role: 'reviewer', payload: { deficiencies: ['nope'], comment: 'x' } } })],
    ['a reason the role may not give', input({ status: 'underReview', history: [] }, { event: { type: 'reject', role: 'reviewer', payload: { reason: 'noPartnerResponse' } } })],
    ['a dispute resolved as approved', input({ status: 'disputed', history: [] }, { event: { type: 'resolveDispute', role: 'reviewer', payload: { outcome: 'approved', comment: 'Fine' } } })],
    ['a customer denying consent', input({ status: 'approved', history: [] }, { event: { type: 'denyConsent', role: 'customer', tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01' } })],
  ];
  cases[1]![1].event = { type: 'edit', ...PARTNER, payload: { activity: 'usage' } };

  it.each(cases)('%s is answered as the machine answers it', async (_name, given) => {
    const evaluation = await evaluateClaim(compiled, given);
    const event = given.event!;
    const state = given.claim.status === 'approved' ? { approved: 'consentPending' } : given.claim.status;
    const machineEvent: ClaimEvent = {
      type: event.type,
      actor: { role: event.role, ...(event.partnerId ? { partnerId: event.partnerId } : {}), ...(event.tenantId ? { tenantId: event.tenantId } : {}) },
      at: given.asOf,
      payload: event.payload ?? {},
      meta: { requirements: { passed: evaluation.submissionRequirements.passed, failed: [] }, closedEvents: {} },
    };
    const step = stepClaim(
      compiled.claim,
      {
        value: state,
        context: { id: 'claim-1', fields: claimFields(), poe: (given.claim.poe ?? []).map((p, i) => poeDocument({ ...p, id: `poe-${i}` })), reason: null, requestedDeficiencies: [], disputes: [] },
      },
      machineEvent,
    );

    expect(evaluation.event?.allowed).toBe(step.ok);
    if (step.ok) expect(evaluation.event?.to).toBe(step.to);
    else {
      expect(evaluation.event?.refusal?.code).toBe(step.refusal.code);
      expect(evaluation.event?.refusal?.path).toBe(step.refusal.path);
    }
  });

  it('an allowed event says where it leads; a refused one says why', async () => {
    const submit = await evaluateClaim(compiled, input({}, { event: { type: 'submit', ...PARTNER } }));
    const refused = await evaluateClaim(compiled, input({ poe: [] }, { event: { type: 'submit', ...PARTNER } }));

    expect(submit.event).toEqual({ type: 'submit', allowed: true, to: 'submitted' });
    expect(refused.event).toEqual({
      type: 'submit',
      allowed: false,
      refusal: { code: 'requirementsNotMet', message: compiled.policy.submissionRequirements[0]!.message },
    });
  });
});

describe('eligibility', () => {
  it('explains OSU and OSA eligibility with the facts seen', async () => {
    const fields = claimFields({
      activity: 'deployment',
      products: [
        { line: 'microsoft365', workload: 'teams' },
        { line: 'businessApplications', product: 'powerBI', subscriptionId: 'sub-1' },
      ],
    });
    const evaluation = await evaluateClaim(compiled, input({ fields, status: 'approved', substatus: 'sentForAssessment', history: [] }));

    expect(evaluation).toMatchObject({ status: 'approved', substatus: 'sentForAssessment' });
    const [osu, osa] = evaluation.eligibility;
    expect(osu).toMatchObject({
      program: 'OSU',
      name: 'Online Services Usage (illustrative)',
      eligible: true,
      illustrative: true,
      explanation: {
        all: [
          { fact: 'productLines', operator: 'contains', value: 'microsoft365', factValue: ['microsoft365', 'businessApplications'], result: true },
          { fact: 'activity', operator: 'in', value: ['deployment', 'usage'], factValue: 'deployment', result: true },
        ],
        result: true,
      },
    });
    expect(osa).toMatchObject({ program: 'OSA', eligible: true });
    expect(osu?.summary).toContain('Eligible for OSU');
    expect(evaluation.rulesFired).toEqual(expect.arrayContaining(['OSU', 'OSA']));
  });

  it('says which fact made a claim ineligible', async () => {
    const evaluation = await evaluateClaim(compiled, input({ fields: claimFields({ activity: 'preSales' }) }));
    const osu = evaluation.eligibility.find((e) => e.program === 'OSU');

    expect(osu?.eligible).toBe(false);
    expect(osu?.summary).toContain('activity is "preSales"');
    expect(evaluation.rulesFired).not.toContain('OSU');
  });
});

describe('inputs', () => {
  it('does not change its input', async () => {
    const given = rejected('2026-04-01T00:00:00Z', { type: 'dispute', ...PARTNER, payload: { program: 'OSU', details: 'x' } });
    const copy = structuredClone(given);

    await evaluateClaim(compiled, deepFreeze(given));
    expect(given).toEqual(copy);
  });

  it('accepts partial fields of a claim being edited', async () => {
    const evaluation = await evaluateClaim(compiled, input({ fields: { partnerId: '4512345' }, poe: [] }, { event: { type: 'submit', ...PARTNER } }));
    expect(evaluation.submissionRequirements.results.map((r) => r.passed)).toEqual([false, false]);
    expect(evaluation.event?.refusal?.code).toBe('requirementsNotMet');
  });

  it('refuses a substatus on a status other than approved, and another policy version', async () => {
    expect(await inputError(evaluateClaim(compiled, input({ substatus: 'consentPending' })))).toMatchObject({ code: 'invalidSubstatus' });
    expect(await inputError(evaluateClaim(compiled, input({}, { policyVersion: '1999.1' })))).toMatchObject({ code: 'unknownPolicyVersion' });
    expect(await inputError(evaluateClaim(compiled, input({}, { asOf: '2026-03-02' })))).toMatchObject({ code: 'invalidInstant', path: '$.asOf' });
  });

  it('the input schema accepts a full request and partial fields, and rejects unknown properties', () => {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, discriminator: true });
    (addFormatsPlugin as unknown as (a: Ajv) => Ajv)(ajv);
    const { $schema: _dialect, ...schema } = evaluationInputSchema;
    const validate = ajv.compile(schema);

    expect(validate(rejected('2026-04-01T00:00:00Z', { type: 'dispute', ...PARTNER, payload: { program: 'OSU', details: 'x' } })), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(input({ fields: { partnerId: '4512345' }, status: 'approved', substatus: 'consentPending', reason: null }, { policyVersion: '2026.1' }))).toBe(true);
    expect(validate({ ...input(), extra: 1 })).toBe(false);
    expect(validate(input({ fields: { nickname: 'x' } as never }))).toBe(false);
    expect(validate(input({ status: 'archived' as never }))).toBe(false);
    expect(validate(input({ poe: [{ customerSigned: true, products: ['teams'] } as never] }))).toBe(false);
  });
});

describe('concurrency', () => {
  it('1,000 varied evaluations run at once each get their own answer', async () => {
    const activities = ['preSales', 'deployment', 'usage', 'revenueAssociation'] as const;
    const inputs = Array.from({ length: 1000 }, (_, i) =>
      input({
        fields: claimFields({
          activity: activities[i % 4]!,
          products: i % 3 === 0 ? [] : i % 3 === 1 ? [{ line: 'microsoft365', workload: 'teams' }] : [{ line: 'businessApplications', product: 'powerApps', subscriptionId: `s-${i}` }],
        }),
        poe: Array.from({ length: i % 5 }, () => ({ ...POE, customerSigned: i % 2 === 0 })),
      }),
    );
    const expected = [];
    for (const given of inputs) expected.push(await evaluateClaim(compiled, given));

    const concurrent = await Promise.all(inputs.map((given) => evaluateClaim(compiled, given)));

    expect(concurrent).toEqual(expected);
    concurrent.forEach((evaluation, i) => {
      expect(evaluation.deficiencies.find((d) => d.code === 'missingAllPoe')?.found).toBe(i % 5 === 0);
      expect(evaluation.submissionRequirements.passed).toBe(i % 5 !== 0 && i % 3 !== 0);
      expect(evaluation.eligibility.find((e) => e.program === 'OSU')?.eligible).toBe(i % 3 === 1 && (i % 4 === 1 || i % 4 === 2));
      expect(evaluation.eligibility.find((e) => e.program === 'OSA')?.eligible).toBe(i % 3 === 2 && (i % 4 === 0 || i % 4 === 1));
    });
  });
});

describe('decision log', () => {
  it('digestInput is the same for the same content in any key order, and differs for other content', () => {
    expect(digestInput({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(digestInput({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(digestInput({ a: 1 })).not.toBe(digestInput({ a: 2 }));
    expect(digestInput({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it("an evaluation's record holds its claim, author, the time it was answered, the policy, its input's digest, its verdicts and the rules that fired", async () => {
    const given = input({ poe: [] }, { event: { type: 'submit', ...PARTNER } });
    const evaluation = await evaluateClaim(compiled, given);

    const author = { role: 'incentivesAdmin', id: 'li@fabrikam.com' };
    const record = evaluationRecord(verdictOf(evaluation), given.claim.id ?? null, { at: '2026-03-05T09:00:00.000Z', author }, digestInput(given));

    expect(record).toMatchObject({
      claimId: 'claim-1',
      at: '2026-03-05T09:00:00.000Z',
      author,
      kind: 'evaluation',
      policy: { id: 'cpor', version: '2026.1' },
      inputDigest: digestInput(given),
      rulesFired: evaluation.rulesFired,
      result: {
        asOf: '2026-03-02T17:00:00.000Z',
        status: 'editing',
        deficiencies: ['missingAllPoe'],
        requirementsPassed: false,
        blockedEvents: [{ event: 'submit', code: 'requirementsNotMet' }],
        event: { type: 'submit', allowed: false, code: 'requirementsNotMet' },
      },
    });
    expect(record.rulesFired).toContain('missingAllPoe');
  });

  it("an evaluation's verdict is frozen to the leaves and the decision log writes the JSON text it kept, equal to serialising it afresh", async () => {
    const given = input({ poe: [] }, { event: { type: 'submit', ...PARTNER } });
    const verdict = verdictOf(await evaluateClaim(compiled, given));
    const author = { role: 'reviewer', id: 'r' };
    const first = evaluationRecord(verdict, 'claim-1', { at: '2026-03-05T09:00:00.000Z', author }, 'a'.repeat(64));
    const second = evaluationRecord(verdict, 'claim-1', { at: '2026-03-05T09:00:01.000Z', author }, 'a'.repeat(64));

    expect(Object.isFrozen(verdict.result)).toBe(true);
    expect(Object.isFrozen(verdict.result.blockedEvents[0])).toBe(true);
    expect(Object.isFrozen(verdict.rulesFired)).toBe(true);
    expect(second.result).toBe(first.result);
    const row = decisionRow(first);
    expect(row.result).toBe(JSON.stringify(first.result));
    expect(row.rules_fired).toBe(JSON.stringify(first.rulesFired));
    // A value that did not go through frozenWithJson is serialised as it is now.
    const open = { changed: false };
    expect(jsonText(open)).toBe('{"changed":false}');
    open.changed = true;
    expect(jsonText(open)).toBe('{"changed":true}');
  });
});
