import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLAIM_FIELDS, EVENT_TYPES, STATE_IDS } from '../../src/domain/claim-types';
import { FACT_CATALOG, OPERATORS } from '../../src/rules/fact-catalog';
import {
  PolicyError,
  formatIssue,
  loadPolicyFile,
  parsePolicy,
  type PolicyIssue,
  type PolicyLoadResult,
} from '../../src/rules/load-policy';
import { compilePolicy } from '../../src/policies/compiled-policy';
import { computeFacts } from '../../src/rules/facts';
import { policySchema, renderPolicySchema } from '../../src/rules/policy-schema';
import {
  BUNDLED_POLICY_PATH,
  bundledPolicyData,
  bundledPolicyText,
  policyYaml,
  positionOf,
  type PolicyOverrides,
} from '../support/policy-factory';

const FILE = 'policies/test.yaml';

function errorsOf(result: PolicyLoadResult): PolicyIssue[] {
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.errors;
}

/** The only error of a policy text, checked against its code, path and position (or where a string is). */
function expectOnlyError(
  text: string,
  code: string,
  path: string,
  where: string | { line: number; column: number },
  occurrence = 1,
): PolicyIssue {
  const errors = errorsOf(parsePolicy(text, FILE));
  expect(errors.map((e) => [e.code, e.path])).toEqual([[code, path]]);
  const error = errors[0]!;
  expect({ line: error.line, column: error.column }).toEqual(
    typeof where === 'string' ? positionOf(text, where, occurrence) : where,
  );
  expect(error.file).toBe(FILE);
  expect(error.severity).toBe('error');
  return error;
}

const overridden = (overrides: PolicyOverrides) => policyYaml(overrides);

describe('the bundled policy', () => {
  it('loads with no errors and no warnings', async () => {
    const result = await loadPolicyFile(BUNDLED_POLICY_PATH);
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('is deeply frozen plain data', async () => {
    const result = await loadPolicyFile(BUNDLED_POLICY_PATH);
    if (!result.ok) throw new Error('bundled policy refused');
    const { policy } = result;
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.calendar.holidays)).toBe(true);
    expect(Object.isFrozen(policy.deadlines.partnerResponse!.onDue)).toBe(true);
    expect(Object.isFrozen(policy.events.create.roles)).toBe(true);
    expect(() => {
      (policy.calendar.holidays as string[]).push('2026-12-31');
    }).toThrow(TypeError);
    expect(Object.getPrototypeOf(policy.roles)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(policy))).toEqual(policy);
  });

  it('gives each alias its own copy (editing one event cannot change another)', () => {
    const result = parsePolicy(bundledPolicyText(), FILE);
    if (!result.ok) throw new Error('bundled policy refused');
    expect(result.policy.events.create.roles).toEqual(['billingAdmin', 'globalAdmin', 'incentivesAdmin']);
    expect(result.policy.events.create.roles).not.toBe(result.policy.events.edit.roles);
  });

  it('reads the values the design names', () => {
    const result = parsePolicy(bundledPolicyText(), FILE);
    if (!result.ok) throw new Error('bundled policy refused');
    const { policy } = result;
    expect(policy.id).toBe('cpor');
    expect(policy.version).toBe('2026.1');
    expect(policy.calendar.timeZone).toBe('America/Los_Angeles');
    expect(policy.calendar.holidays).toHaveLength(23);
    expect(policy.deadlines.decisionTarget).toMatchObject({
      runsIn: ['submitted', 'underReview'],
      pausedIn: ['partnerActionRequired'],
      businessDays: 10,
    });
    expect(policy.deadlines.reviewStart!.pausedIn).toEqual([]);
    expect(policy.deadlines.partnerResponse!.onDue).toEqual({ send: 'reject', with: { reason: 'noPartnerResponse' } });
  });
});

describe('the bundled policy: limits, removePoe and what poeRequired asks', () => {
  const loaded = () => {
    const result = parsePolicy(bundledPolicyText(), FILE);
    if (!result.ok) throw new Error('bundled policy refused');
    return result.policy;
  };

  it('limits a claim to one dispute, 25 PoE documents and 100 MiB of PoE files', () => {
    expect(loaded().limits).toEqual({ disputesPerClaim: 1, poeDocumentsPerClaim: 25, poeBytesPerClaim: 100 * 1024 * 1024 });
  });

  it('lets the partner roles remove a PoE', () => {
    expect(loaded().events.removePoe?.roles).toEqual(['billingAdmin', 'globalAdmin', 'incentivesAdmin']);
  });

  it("poeRequired's message promises no customer signature, since a document the customer did not sign satisfies it", async () => {
    const compiled = compilePolicy(loaded());
    const poe = [{ id: 'poe-1', fileName: 'draft.pdf', customerSigned: false, products: ['teams'], describesWork: true, uploadedAt: '2026-03-02T17:00:00Z', uploadedBy: 'p' }];
    const facts = computeFacts({ fields: { products: [{ line: 'microsoft365', workload: 'teams' }] }, poe, status: 'editing', asOfDate: '2026-03-02' });
    const { results } = await compiled.rules.evaluateRequirements(facts);
    const poeRequired = results.find((r) => r.code === 'poeRequired')!;
    expect(poeRequired.matched).toBe(true);
    expect(poeRequired.message).not.toMatch(/signed by the customer/i);
    expect(poeRequired.message).toMatch(/at least one proof-of-execution document/);
  });
});

describe('limits and optional events', () => {
  it.each([0, 2.5, -1, '"3"'])('refuses a disputesPerClaim of %s', (value) => {
    const text = bundledPolicyText().replace('  disputesPerClaim: 1\n', `  disputesPerClaim: ${value}\n`);
    expectOnlyError(text, 'schema', '$.limits.disputesPerClaim', `disputesPerClaim: ^${value}`);
  });

  it('refuses an unknown key under limits', () => {
    const text = overridden({ limits: { poeFilesPerClaim: 3 } });
    expectOnlyError(text, 'unknownProperty', '$.limits.poeFilesPerClaim', 'poeFilesPerClaim:');
  });

  it('loads a policy without limits and without events.removePoe (nobody may then remove a PoE)', () => {
    const result = parsePolicy(overridden({ limits: undefined, events: { removePoe: undefined } }), FILE);
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
    if (result.ok) {
      expect(result.policy.limits).toBeUndefined();
      expect(result.policy.events.removePoe).toBeUndefined();
    }
  });
});

describe('defaults', () => {
  it('defaults the calendar to UTC, Monday to Friday, no holidays', () => {
    const result = parsePolicy(overridden({ calendar: undefined }), FILE);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join('\n'));
    expect(result.policy.calendar).toEqual({ timeZone: 'UTC', workweek: ['mon', 'tue', 'wed', 'thu', 'fri'], holidays: [] });
  });

  it('defaults a partial calendar key by key', () => {
    const result = parsePolicy(overridden({ calendar: { holidays: undefined, workweek: undefined } }), FILE);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join('\n'));
    expect(result.policy.calendar).toEqual({
      timeZone: 'America/Los_Angeles',
      workweek: ['mon', 'tue', 'wed', 'thu', 'fri'],
      holidays: [],
    });
  });

  it('defaults optional lists and maps to empty ones', () => {
    const result = parsePolicy(
      overridden({
        submissionRequirements: undefined,
        deficiencies: undefined,
        incentivePrograms: undefined,
        deadlines: undefined,
        editableFields: undefined,
      }),
      FILE,
    );
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join('\n'));
    const { policy } = result;
    expect(policy.submissionRequirements).toEqual([]);
    expect(policy.deficiencies).toEqual([]);
    expect(policy.incentivePrograms).toEqual([]);
    expect(policy.deadlines).toEqual({});
    expect(policy.editableFields).toEqual({});
  });
});

describe('YAML errors', () => {
  it('locates a syntax error', () => {
    const text = bundledPolicyText().replace('workweek: [mon, tue, wed, thu, fri]', 'workweek: [mon, tue, wed, thu, fri');
    const errors = errorsOf(parsePolicy(text, FILE));
    expect(errors[0]!.code).toBe('yamlSyntax');
    expect(errors[0]!.line).toBeGreaterThanOrEqual(14);
    expect(errors[0]!.line).toBeLessThanOrEqual(16);
  });

  it('locates a mapping nested in a compact mapping', () => {
    const text = bundledPolicyText().replace('    days: 7\n', '    days: 7 onDue: x: y\n');
    const errors = errorsOf(parsePolicy(text, FILE));
    expect(errors[0]).toMatchObject({ code: 'yamlSyntax', line: positionOf(text, 'days: 7 onDue').line });
  });

  it('refuses a duplicate key at the second occurrence', () => {
    const text = bundledPolicyText().replace('  reviewDecision:\n', '  reviewStart:\n');
    const error = expectOnlyError(text, 'duplicateKey', '$.deadlines.reviewStart', 'reviewStart:', 2);
    expect(error).toMatchObject({ ...positionOf(text, 'reviewStart:', 2), column: 3 });
  });

  it('refuses a second document in the file', () => {
    const errors = errorsOf(parsePolicy(`${bundledPolicyText()}---\nid: other\n`, FILE));
    expect(errors.map((e) => e.code)).toEqual(['yamlSyntax']);
  });

  it('reports an empty file as a schema error at 1:1', () => {
    const errors = errorsOf(parsePolicy('', FILE));
    expect(errors).toMatchObject([{ code: 'schema', path: '$', line: 1, column: 1, message: 'Must be a mapping.' }]);
  });
});

describe('unsafe YAML', () => {
  it('refuses a __proto__ key where it is', () => {
    const text = bundledPolicyText().replace('roles:\n', 'roles:\n  __proto__: { kind: partner }\n');
    const error = expectOnlyError(text, 'forbiddenKey', "$.roles.__proto__", '__proto__');
    expect(error).toMatchObject({ line: 44, column: 3 });
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
  });

  it.each(['constructor', 'prototype'])('refuses a %s key', (key) => {
    const text = bundledPolicyText().replace('    runsIn: [submitted]\n', `    runsIn: [submitted]\n    ${key}: x\n`);
    expectOnlyError(text, 'forbiddenKey', `$.deadlines.reviewStart.${key}`, `${key}:`);
  });

  it('refuses a !!js/function tag at the tag', () => {
    const text = bundledPolicyText().replace(
      'name: Claimed Partner of Record (CPOR) customer associations',
      'name: !!js/function "function () { return 1 }"',
    );
    const error = expectOnlyError(text, 'customTag', '$.name', '!!js/function');
    expect(error).toMatchObject({ line: 9, column: 7 });
  });

  it.each(['!foo bar', '!!binary aGVsbG8=', '!!timestamp 2026-01-01', '!<tag:example.com:x> y'])(
    'refuses the custom tag in "%s"',
    (value) => {
      const text = bundledPolicyText().replace('description: PoE reviewer', `description: ${value}`);
      expectOnlyError(text, 'customTag', '$.roles.reviewer.description', value.split(' ')[0]!);
    },
  );

  it('accepts the core schema tag !!str', () => {
    const text = bundledPolicyText().replace('version: "2026.1"', 'version: !!str 2026.1');
    const result = parsePolicy(text, FILE);
    expect(result.ok && result.policy.version).toBe('2026.1');
  });

  it('refuses an alias bomb quickly', () => {
    let bomb = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
    let previous = 'a';
    for (const name of 'bcdefghij') {
      bomb += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]\n`;
      previous = name;
    }
    const started = performance.now();
    const errors = errorsOf(parsePolicy(bomb, FILE));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(errors).toMatchObject([{ code: 'aliasLimit', path: '$.b[0]', line: 2, column: 8 }]);
  });

  it('refuses an alias to an undefined anchor where the alias is', () => {
    const text = bundledPolicyText().replace('edit: { roles: *partnerRoles }', 'edit: { roles: *partnerRole }');
    expectOnlyError(text, 'yamlSyntax', '$.events.edit.roles', '*partnerRole }');
  });

  it('refuses a key that is a collection', () => {
    const text = bundledPolicyText().replace('  reviewer: { kind: reviewer', '  ? [reviewer]\n  : { kind: reviewer');
    expectOnlyError(text, 'complexKey', '$.roles', '[reviewer]');
  });

  it('treats a merge key as an unknown property', () => {
    const text = bundledPolicyText().replace('  reviewer: { kind: reviewer', '  reviewer: { <<: { a: 1 }, kind: reviewer');
    expectOnlyError(text, 'unknownProperty', "$.roles.reviewer['<<']", '<<');
  });
});

describe('schema errors', () => {
  it('asks for a quoted version when it is a number', () => {
    const text = bundledPolicyText().replace('version: "2026.1"', 'version: 2026.1');
    const error = expectOnlyError(text, 'schema', '$.version', '2026.1');
    expect(error.message).toContain('quote it: "2026.1"');
  });

  it('refuses an effective date without a time zone', () => {
    const text = bundledPolicyText().replace('effective: 2026-01-01T00:00:00Z', 'effective: 2026-01-01T00:00:00');
    expectOnlyError(text, 'schema', '$.effective', '2026-01-01T00:00:00');
  });

  it('names an unknown top-level property and suggests the right one', () => {
    const text = overridden({ deficiencys: [] });
    const error = expectOnlyError(text, 'unknownProperty', '$.deficiencys', 'deficiencys:');
    expect(error.message).toContain('did you mean "deficiencies"');
  });

  it('names an unknown property in a deadline at its key', () => {
    const text = bundledPolicyText().replace('    runsIn: [underReview]', '    runIn: [underReview]');
    const error = expectOnlyError(text, 'unknownProperty', '$.deadlines.reviewDecision.runIn', 'runIn:');
    expect(error.message).toContain('did you mean "runsIn"');
  });

  it('refuses an unknown state in runsIn with the known states', () => {
    const text = overridden({ deadlines: { reviewStart: { runsIn: ['sumbitted'] } } });
    const error = expectOnlyError(text, 'unknownState', '$.deadlines.reviewStart.runsIn[0]', 'sumbitted');
    expect(error.message).toContain('did you mean "submitted"');
    for (const state of STATE_IDS) expect(error.message).toContain(state);
  });

  it('refuses an unknown state as an editableFields key', () => {
    const text = overridden({ editableFields: { approvd: ['name'] } });
    expectOnlyError(text, 'unknownState', '$.editableFields.approvd', 'approvd:');
  });

  it('refuses an unknown claim field', () => {
    const text = overridden({ editableFields: { editing: ['name', 'tenant'] } });
    const error = expectOnlyError(text, 'unknownField', '$.editableFields.editing[1]', '- ^tenant');
    for (const field of CLAIM_FIELDS) expect(error.message).toContain(field);
  });

  it('refuses an unknown event key, without also reporting the one it misspells as missing', () => {
    const text = bundledPolicyText().replace('  withdraw: { roles', '  withdrew: { roles');
    const error = expectOnlyError(text, 'unknownEvent', '$.events.withdrew', 'withdrew:');
    expect(error.message).toContain('did you mean "withdraw"');
  });

  it('refuses a missing event', () => {
    const text = bundledPolicyText().replace('  sendForAssessment: { roles: [system] }\n', '');
    const error = expectOnlyError(text, 'missingEvent', '$.events', 'events:');
    expect(error.message).toContain('sendForAssessment');
  });

  it('refuses an unknown event in onDue.closes', () => {
    const text = bundledPolicyText().replace('onDue: { closes: [dispute] }', 'onDue: { closes: [disputes] }');
    expectOnlyError(text, 'unknownEvent', '$.deadlines.disputeWindow.onDue.closes[0]', 'disputes');
  });

  it('refuses an unknown event in onDue.send', () => {
    const text = bundledPolicyText().replace('onDue: { send: sendForAssessment }', 'onDue: { send: assess }');
    expectOnlyError(text, 'unknownEvent', '$.deadlines.consentWindow.onDue.send', 'send: ^assess');
  });

  it('refuses an unknown fact deep in a condition, naming the known facts', () => {
    const text = bundledPolicyText().replace('{ fact: newestPoeAgeDays,', '{ fact: newestPoeAge,');
    const error = expectOnlyError(text, 'unknownFact', '$.deficiencies[2].when.all[1].any[1].fact', 'newestPoeAge,');
    expect(error).toMatchObject({ ...positionOf(text, 'newestPoeAge,'), column: 23 });
    expect(error.message).toContain('did you mean "newestPoeAgeDays"');
    for (const fact of Object.keys(FACT_CATALOG)) expect(error.message).toContain(fact);
  });

  it('refuses an unknown operator, naming the known operators', () => {
    const text = bundledPolicyText().replace(
      '{ fact: productCount, operator: greaterThanInclusive',
      '{ fact: productCount, operator: atLeast',
    );
    const error = expectOnlyError(text, 'unknownOperator', '$.submissionRequirements[1].when.all[0].operator', 'atLeast');
    for (const operator of OPERATORS) expect(error.message).toContain(operator);
  });

  it('refuses a comparison without a value', () => {
    const text = bundledPolicyText().replace(
      '{ fact: productCount, operator: greaterThanInclusive, value: 1 }',
      '{ fact: productCount, operator: greaterThanInclusive }',
    );
    expectOnlyError(text, 'missingProperty', '$.submissionRequirements[1].when.all[0]', '{ fact: productCount');
  });

  it('refuses a condition that is both all and a comparison', () => {
    const text = overridden({
      submissionRequirements: { 0: { when: { all: [], fact: 'poeCount', operator: 'equal', value: 1 } } },
    });
    const error = expectOnlyError(text, 'schema', '$.submissionRequirements[0].when', 'when:');
    expect(error.message).toContain('combine several under all');
  });

  it('refuses an unknown weekday', () => {
    const text = bundledPolicyText().replace('workweek: [mon, tue, wed, thu, fri]', 'workweek: [mon, tue, wed, thur, fri]');
    expectOnlyError(text, 'unknownWeekday', '$.calendar.workweek[3]', 'thur');
  });

  it('refuses an empty workweek', () => {
    const text = bundledPolicyText().replace('workweek: [mon, tue, wed, thu, fri]', 'workweek: []');
    expectOnlyError(text, 'schema', '$.calendar.workweek', '[]');
  });

  it('refuses a role of unknown kind', () => {
    const text = bundledPolicyText().replace('reviewer: { kind: reviewer,', 'reviewer: { kind: auditor,');
    expectOnlyError(text, 'unknownRoleKind', '$.roles.reviewer.kind', 'auditor');
  });

  it('refuses a deadline with both businessDays and days', () => {
    const text = bundledPolicyText().replace('    businessDays: 10\n', '    businessDays: 10\n    days: 14\n');
    const error = expectOnlyError(text, 'schema', '$.deadlines.decisionTarget', 'decisionTarget:');
    expect(error.message).toContain('not both');
  });

  it('refuses a deadline with no duration', () => {
    const text = overridden({ deadlines: { reviewStart: { businessDays: undefined } } });
    const error = expectOnlyError(text, 'schema', '$.deadlines.reviewStart', 'reviewStart:');
    expect(error.message).toContain('businessDays: N or days: N');
  });

  it.each([0, 2.5, -1])('refuses a duration of %s days', (days) => {
    const text = bundledPolicyText().replace('    days: 30\n', `    days: ${days}\n`);
    expectOnlyError(text, 'schema', '$.deadlines.disputeWindow.days', { line: positionOf(text, `    days: ${days}\n`).line, column: 11 });
  });

  it('refuses onDue doing two things', () => {
    const text = bundledPolicyText().replace('onDue: { send: sendForAssessment }', 'onDue: { send: sendForAssessment, escalate: true }');
    const error = expectOnlyError(text, 'schema', '$.deadlines.consentWindow.onDue', '{ send: sendForAssessment');
    expect(error.message).toContain('not several');
  });

  it('refuses escalate: false', () => {
    const text = bundledPolicyText().replace('    businessDays: 10\n    onDue: { escalate: true }', '    businessDays: 10\n    onDue: { escalate: false }');
    expectOnlyError(text, 'schema', '$.deadlines.decisionTarget.onDue.escalate', 'false');
  });

  it('refuses with: without send:', () => {
    const text = bundledPolicyText().replace('onDue: { closes: [dispute] }', 'onDue: { closes: [dispute], with: { a: 1 } }');
    expectOnlyError(text, 'missingProperty', '$.deadlines.disputeWindow.onDue', '{ closes: [dispute]');
  });

  it('refuses a state listed twice', () => {
    const text = bundledPolicyText().replace('runsIn: [submitted, underReview]', 'runsIn: [submitted, underReview, submitted]');
    expectOnlyError(text, 'duplicateItem', '$.deadlines.decisionTarget.runsIn[2]', 'underReview, ^submitted]');
  });

  it('refuses a malformed holiday', () => {
    const text = bundledPolicyText().replace('- 2026-01-19', '- 2026-1-19');
    expectOnlyError(text, 'schema', '$.calendar.holidays[1]', '2026-1-19');
  });
});

describe('semantic errors', () => {
  it('refuses an unknown time zone', () => {
    const text = bundledPolicyText().replace('timeZone: America/Los_Angeles', 'timeZone: America/Los_Angles');
    const error = expectOnlyError(text, 'unknownTimeZone', '$.calendar.timeZone', 'America/Los_Angles');
    expect(error).toMatchObject({ line: 13, column: 13 });
  });

  it('refuses a holiday that is not a real date', () => {
    const text = bundledPolicyText().replace('- 2026-02-16', '- 2026-02-30');
    const error = expectOnlyError(text, 'invalidDate', '$.calendar.holidays[2]', '2026-02-30');
    expect(error).toMatchObject({ line: 19, column: 7 });
  });

  it('refuses an undefined role in an event', () => {
    const text = bundledPolicyText().replace('startReview: { roles: [reviewer] }', 'startReview: { roles: [reviewr] }');
    const error = expectOnlyError(text, 'unknownRole', '$.events.startReview.roles[0]', 'reviewr');
    expect(error.message).toContain('did you mean "reviewer"');
  });

  it('refuses an undefined role in a rejection reason', () => {
    const text = overridden({ rejectionReasons: { 2: { usableBy: ['reviewer', 'auditor'] } } });
    expectOnlyError(text, 'unknownRole', '$.rejectionReasons[2].usableBy[1]', 'auditor');
  });

  it('refuses a role named system', () => {
    const text = overridden({ roles: { system: { kind: 'internal' } } });
    expectOnlyError(text, 'reservedRole', '$.roles.system', 'system:');
  });

  it('refuses an event nobody may send', () => {
    const text = bundledPolicyText().replace('approve: { roles: [reviewer] }', 'approve: { roles: [] }');
    expectOnlyError(text, 'eventWithoutRole', '$.events.approve.roles', '[] }');
  });

  it('refuses a rejection reason nobody may use', () => {
    const text = overridden({ rejectionReasons: { 6: { usableBy: [] } } });
    expectOnlyError(text, 'reasonWithoutRole', '$.rejectionReasons[6].usableBy', 'usableBy: ^[]');
  });

  it.each([
    ['rejectionReasons', 'insufficientPoe', 3],
    ['deficiencies', 'missingOrOldDates', 3],
    ['submissionRequirements', 'poeRequired', 1],
    ['incentivePrograms', 'OSU', 1],
  ] as const)('refuses a duplicate code in %s', (list, code, index) => {
    const text = overridden({ [list]: { [index]: { code } } });
    const error = expectOnlyError(text, 'duplicateCode', `$.${list}[${index}].code`, `code: ^${code}`, 2);
    expect(error.message).toContain(`"${code}"`);
  });

  it('refuses a deadline that runs in no state', () => {
    const text = bundledPolicyText().replace('runsIn: [disputed]', 'runsIn: []');
    expectOnlyError(text, 'deadlineNeverStarts', '$.deadlines.disputeResponse.runsIn', '[]');
  });

  it('refuses a deadline paused in every state it runs in', () => {
    const text = bundledPolicyText().replace(
      'pausedIn: [partnerActionRequired]',
      'pausedIn: [partnerActionRequired, submitted, underReview]',
    );
    expectOnlyError(text, 'deadlineNeverStarts', '$.deadlines.decisionTarget.pausedIn', '[partnerActionRequired, submitted');
  });

  it('refuses a state both in runsIn and pausedIn', () => {
    const text = bundledPolicyText().replace('pausedIn: [partnerActionRequired]', 'pausedIn: [partnerActionRequired, underReview]');
    expectOnlyError(text, 'deadlineStateOverlap', '$.deadlines.decisionTarget.pausedIn[1]', 'partnerActionRequired, ^underReview]');
  });

  it('treats a substate as overlapping its parent state', () => {
    const text = overridden({ deadlines: { consentWindow: { runsIn: ['approved'], pausedIn: ['approved.consentPending', 'disputed'] } } });
    expectOnlyError(text, 'deadlineStateOverlap', '$.deadlines.consentWindow.pausedIn[0]', 'approved.consentPending');
  });

  it('refuses a deadline sending an event system may not send', () => {
    const text = bundledPolicyText().replace('onDue: { send: sendForAssessment }', 'onDue: { send: approve }');
    expectOnlyError(text, 'systemCannotSend', '$.deadlines.consentWindow.onDue.send', 'approve }');
  });

  it('refuses a deadline rejecting without a reason', () => {
    const text = bundledPolicyText().replace('onDue: { send: reject, with: { reason: noPartnerResponse } }', 'onDue: { send: reject }');
    const error = expectOnlyError(text, 'missingRejectionReason', '$.deadlines.partnerResponse.onDue', '{ send: reject');
    expect(error.message).toContain('noPartnerResponse');
  });

  it('refuses a deadline rejecting with an unknown reason', () => {
    const text = bundledPolicyText().replace('reason: noPartnerResponse }', 'reason: noResponse }');
    expectOnlyError(text, 'unknownRejectionReason', '$.deadlines.partnerResponse.onDue.with.reason', 'noResponse }');
  });

  it('refuses a deadline rejecting with a reason system may not use', () => {
    const text = bundledPolicyText().replace('reason: noPartnerResponse }', 'reason: insufficientPoe }');
    expectOnlyError(text, 'reasonNotUsable', '$.deadlines.partnerResponse.onDue.with.reason', 'insufficientPoe }');
  });

  it('refuses partnerId as an editable field', () => {
    const text = overridden({ editableFields: { submitted: ['mpnId', 'partnerId'] } });
    expectOnlyError(text, 'immutableField', '$.editableFields.submitted[1]', 'partnerId');
  });

  it.each(['partnerRequest', 'customerDecline'])('refuses a policy without rejection reason %s', (code) => {
    const data = bundledPolicyData();
    const reasons = (data.rejectionReasons as Array<{ code: string }>).filter((r) => r.code !== code);
    const text = overridden({ rejectionReasons: reasons });
    const error = expectOnlyError(text, 'missingRejectionReason', '$.rejectionReasons', 'rejectionReasons:');
    expect(error.message).toContain(code);
  });

  it('refuses partnerRequest unusable by a role that may withdraw', () => {
    const text = overridden({ rejectionReasons: { 0: { usableBy: ['billingAdmin', 'globalAdmin'] } } });
    const error = expectOnlyError(text, 'reasonNotUsable', '$.rejectionReasons[0].usableBy', 'usableBy:');
    expect(error.message).toContain('incentivesAdmin');
  });

  it('refuses customerDecline unusable by the customer', () => {
    const text = overridden({ rejectionReasons: { 1: { usableBy: ['reviewer'] } } });
    expectOnlyError(text, 'reasonNotUsable', '$.rejectionReasons[1].usableBy', 'usableBy:', 2);
  });

  it('reports semantic errors in well-formed sections alongside schema errors in others', () => {
    const text = bundledPolicyText()
      .replace('version: "2026.1"', 'version: 2026.1')
      .replace('timeZone: America/Los_Angeles', 'timeZone: Nowhere/Special');
    const errors = errorsOf(parsePolicy(text, FILE));
    expect(errors.map((e) => [e.code, e.path])).toEqual([
      ['schema', '$.version'],
      ['unknownTimeZone', '$.calendar.timeZone'],
    ]);
  });

  it('reports all missing events in one issue', () => {
    const text = bundledPolicyText()
      .replace('  sendForAssessment: { roles: [system] }\n', '')
      .replace('  comment: { roles: [billingAdmin, globalAdmin, incentivesAdmin, reviewer] }\n', '');
    const error = expectOnlyError(text, 'missingEvent', '$.events', 'events:');
    expect(error.message).toMatch(/^Events comment, sendForAssessment missing/);
  });

  it.each([
    ['a list', '- a\n'],
    ['a scalar', 'hello\n'],
    ['sections of the wrong type', 'roles: []\nevents: 5\ndeadlines: { a: 5 }\ncalendar: x\nrejectionReasons: {}\n'],
    ['lists of the wrong items', bundledPolicyText().replace('rejectionReasons:\n', 'rejectionReasons:\n  - 5\n')],
    ['events of the wrong shape', bundledPolicyText().replace('edit: { roles: *partnerRoles }', 'edit: { roles: x }')],
    ['a deadline of the wrong shape', bundledPolicyText().replace('  reviewStart:\n', '  bad: [1]\n  reviewStart:\n')],
  ])('refuses %s without throwing', (_, text) => {
    expect(errorsOf(parsePolicy(text, FILE)).length).toBeGreaterThan(0);
  });

  it('reports every error of a file, in line order', () => {
    const text = bundledPolicyText()
      .replace('timeZone: America/Los_Angeles', 'timeZone: Nowhere/Special')
      .replace('startReview: { roles: [reviewer] }', 'startReview: { roles: [nobody] }');
    const errors = errorsOf(parsePolicy(text, FILE));
    expect(errors.map((e) => e.code)).toEqual(['unknownTimeZone', 'unknownRole']);
  });
});

describe('warnings', () => {
  it('warns about a role no event or reason uses, and still loads', () => {
    const text = overridden({ roles: { auditor: { kind: 'reviewer', description: 'Audits' } } });
    const result = parsePolicy(text, FILE);
    expect(result.ok).toBe(true);
    expect(result.warnings).toMatchObject([
      { code: 'unusedRole', path: '$.roles.auditor', severity: 'warning', ...positionOf(text, 'auditor:') },
    ]);
  });

  it('does not warn about an internal role (it reads, it never sends events)', () => {
    const result = parsePolicy(overridden({ roles: { auditor: { kind: 'internal' } } }), FILE);
    expect(result.warnings).toEqual([]);
  });

  it('warns about a deficiency without when', () => {
    const text = overridden({ deficiencies: { 3: { when: undefined } } });
    const result = parsePolicy(text, FILE);
    expect(result.ok).toBe(true);
    expect(result.warnings).toMatchObject([
      { code: 'noWhen', path: '$.deficiencies[3]', ...positionOf(text, 'code: missingPartnerSolution') },
    ]);
  });

  it('warns about an incentive program with no eligibility conditions', () => {
    const text = overridden({ incentivePrograms: { 1: { eligibility: { all: [] } } } });
    const result = parsePolicy(text, FILE);
    expect(result.ok).toBe(true);
    expect(result.warnings).toMatchObject([{ code: 'noWhen', path: '$.incentivePrograms[1].eligibility' }]);
  });
});

describe('loading files', () => {
  it('reports a missing file as an issue', async () => {
    const result = await loadPolicyFile('policies/does-not-exist.yaml');
    expect(errorsOf(result)).toEqual([
      {
        file: 'policies/does-not-exist.yaml',
        line: 1,
        column: 1,
        path: '$',
        code: 'fileNotFound',
        message: 'No such policy file.',
        severity: 'error',
      },
    ]);
  });

  it('reports an unreadable path (a directory) as an issue', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-'));
    expect(errorsOf(await loadPolicyFile(dir)).map((e) => e.code)).toEqual(['unreadableFile']);
  });
});

describe('formatIssue and PolicyError', () => {
  it('formats one located line', () => {
    const issue: PolicyIssue = {
      file: 'policies/x.yaml',
      line: 12,
      column: 5,
      path: '$.deadlines.a.runsIn[0]',
      code: 'unknownState',
      message: 'Unknown state "x".',
      severity: 'error',
    };
    expect(formatIssue(issue)).toBe('policies/x.yaml:12:5 error unknownState $.deadlines.a.runsIn[0]: Unknown state "x".');
  });

  it('carries the issues and names the first in its message', () => {
    const errors = errorsOf(parsePolicy(bundledPolicyText().replace('runsIn: [disputed]', 'runsIn: []'), FILE));
    const error = new PolicyError(errors);
    expect(error).toBeInstanceOf(Error);
    expect(error.issues).toBe(errors);
    expect(error.message).toContain(formatIssue(errors[0]!));
  });

  it('brackets JSONPath keys that are not identifiers', () => {
    const text = overridden({ deadlines: { 'my deadline': { runsIn: ['nowhere'], days: 1, onDue: { escalate: true } } } });
    expectOnlyError(text, 'unknownState', "$.deadlines['my deadline'].runsIn[0]", 'nowhere');
  });
});

describe('the policy schema', () => {
  it('is written to policies/policy.schema.json as generated', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../policies/policy.schema.json', import.meta.url)), 'utf8');
    expect(committed).toBe(renderPolicySchema());
  });

  it('is draft-07, and the bundled YAML points editors at it', () => {
    expect(policySchema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(bundledPolicyText().split('\n')[0]).toBe('# yaml-language-server: $schema=./policy.schema.json');
  });

  it('describes every property', () => {
    const undocumented: string[] = [];
    const walk = (schema: unknown, where: string) => {
      if (schema === null || typeof schema !== 'object') return;
      const node = schema as Record<string, unknown>;
      for (const [name, property] of Object.entries((node.properties as Record<string, unknown>) ?? {})) {
        if (!(property as { description?: string }).description) undocumented.push(`${where}.${name}`);
        walk(property, `${where}.${name}`);
      }
      for (const key of ['items', 'additionalProperties'] as const) walk(node[key], `${where}[${key}]`);
      for (const [name, definition] of Object.entries((node.definitions as Record<string, unknown>) ?? {})) {
        if (!(definition as { description?: string }).description) undocumented.push(`#/definitions/${name}`);
        walk(definition, `#/definitions/${name}`);
      }
    };
    walk(policySchema, '$');
    expect(undocumented).toEqual([]);
  });

  it('takes its enums from the code', () => {
    const { definitions } = policySchema;
    expect(definitions.stateId.enum).toEqual([...STATE_IDS]);
    expect(definitions.eventType.enum).toEqual([...EVENT_TYPES]);
    expect(definitions.claimField.enum).toEqual([...CLAIM_FIELDS]);
    expect(definitions.factName.enum).toEqual(Object.keys(FACT_CATALOG));
    expect(definitions.operator.enum).toEqual([...OPERATORS]);
    expect(Object.keys(policySchema.properties.events.properties)).toEqual([...EVENT_TYPES]);
  });
});

describe('policy nesting', () => {
  it('a condition nested 5,000 deep is a located nestingTooDeep error, not a stack overflow', async () => {
    const { parsePolicy } = await import('../../src/rules/load-policy');
    const { bundledPolicyText } = await import('../support/policy-factory');
    const deep = '{ not: '.repeat(5000) + '{ fact: poeCount, operator: equal, value: 0 }' + ' }'.repeat(5000);
    const text = bundledPolicyText().replace(/^deficiencies:\n/m, `deficiencies:\n  - code: deep\n    description: Deep\n    when: ${deep}\n`);
    const result = parsePolicy(text, 'deep.yaml');
    expect(result.ok).toBe(false);
    const line = text.split('\n').findIndex((l) => l.includes('when: { not:')) + 1;
    expect(!result.ok && result.errors[0]).toMatchObject({ file: 'deep.yaml', code: 'nestingTooDeep', line });
  });
});
