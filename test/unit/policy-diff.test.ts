import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli';
import { diffPolicies, type PolicyChange } from '../../src/rules/policy-diff';
import { policyDiffCommand } from '../../src/cli/policy-diff-command';
import type { Policy } from '../../src/rules/policy-types';
import { bundledPolicyData, policyYaml, positionOf, type PolicyOverrides } from '../support/policy-factory';

/** The bundled policy with overrides, as data (diffPolicies needs no validation). */
const policyWith = (overrides: PolicyOverrides = {}): Policy => parse(policyYaml(overrides)) as Policy;
const base = policyWith();
const changesTo = (overrides: PolicyOverrides): Array<Omit<PolicyChange, 'before' | 'after'>> =>
  diffPolicies(base, policyWith(overrides)).changes.map(({ section, key, kind, summary }) => ({ section, key, kind, summary }));
const reversed = <T>(list: unknown) => [...(list as T[])].reverse();

describe('diffPolicies', () => {
  it('finds no change between a policy and itself', () => {
    expect(diffPolicies(base, policyWith())).toEqual({
      from: { id: 'cpor', version: '2026.1' },
      to: { id: 'cpor', version: '2026.1' },
      changes: [],
    });
  });

  it('compares code lists by code and member lists as sets, so reordering changes nothing', () => {
    const data = bundledPolicyData();
    const events = data.events as Record<string, { roles: string[] }>;
    const reordered = policyWith({
      rejectionReasons: reversed(data.rejectionReasons),
      deficiencies: reversed(data.deficiencies),
      submissionRequirements: reversed(data.submissionRequirements),
      incentivePrograms: reversed(data.incentivePrograms),
      events: { comment: { roles: reversed(events.comment!.roles) } },
      editableFields: { submitted: reversed((data.editableFields as Record<string, string[]>).submitted) },
      calendar: { holidays: reversed((data.calendar as { holidays: string[] }).holidays) },
      deadlines: { decisionTarget: { runsIn: ['underReview', 'submitted'] } },
    });

    expect(diffPolicies(base, reordered).changes).toEqual([]);
  });

  it('treats the members of all / any as unordered in rule conditions', () => {
    const when = (base.deficiencies[2]!.when as { all: unknown[] }).all;
    expect(changesTo({ deficiencies: { 2: { when: { all: reversed(when) } } } })).toEqual([]);
  });

  it('reports meta changes, but not the same effective instant written differently', () => {
    expect(changesTo({ version: '2026.2', name: 'CPOR v2', effective: '2025-12-31T16:00:00-08:00' })).toEqual([
      { section: 'meta', key: 'version', kind: 'changed', summary: 'policy: version 2026.1 → 2026.2' },
      {
        section: 'meta',
        key: 'name',
        kind: 'changed',
        summary: 'policy: name "Claimed Partner of Record (CPOR) customer associations" → "CPOR v2"',
      },
    ]);
    expect(changesTo({ effective: '2026-07-01T00:00:00Z' })).toEqual([
      { section: 'meta', key: 'effective', kind: 'changed', summary: 'policy: effective 2026-01-01T00:00:00Z → 2026-07-01T00:00:00Z' },
    ]);
  });

  it('reports the calendar: time zone, workdays and holidays added or removed', () => {
    const holidays = (bundledPolicyData().calendar as { holidays: string[] }).holidays.filter((d) => d !== '2026-12-25');
    expect(
      changesTo({ calendar: { timeZone: 'UTC', workweek: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], holidays: [...holidays, '2026-12-24'] } }),
    ).toEqual([
      { section: 'calendar', key: 'calendar.timeZone', kind: 'changed', summary: 'calendar: timeZone America/Los_Angeles → UTC' },
      { section: 'calendar', key: 'calendar.workweek.sat', kind: 'added', summary: 'calendar: workday sat added' },
      { section: 'calendar', key: 'calendar.holidays.2026-12-25', kind: 'removed', summary: 'calendar: holiday 2026-12-25 removed' },
      { section: 'calendar', key: 'calendar.holidays.2026-12-24', kind: 'added', summary: 'calendar: holiday 2026-12-24 added' },
    ]);
  });

  it('reports roles added, removed and changed', () => {
    expect(changesTo({ roles: { auditor: { kind: 'internal' }, programManager: undefined, reviewer: { kind: 'internal' } } })).toEqual([
      { section: 'roles', key: 'roles.reviewer.kind', kind: 'changed', summary: 'role reviewer: kind reviewer → internal' },
      { section: 'roles', key: 'roles.programManager', kind: 'removed', summary: 'role programManager removed (internal)' },
      { section: 'roles', key: 'roles.auditor', kind: 'added', summary: 'role auditor added (internal)' },
    ]);
  });

  it('reports how conflicts are settled and which states take part in them', () => {
    const changes = changesTo({ conflicts: { activeStatuses: ['submitted', 'underReview'], validPoe: { customerSigned: false } } });
    expect(changes.map((c) => [c.section, c.key, c.kind])).toEqual([
      ['conflicts', 'conflicts.activeStatuses.partnerActionRequired', 'removed'],
      ['conflicts', 'conflicts.activeStatuses.approved', 'removed'],
      ['conflicts', 'conflicts.validPoe', 'changed'],
    ]);
  });

  it('reports changed limits by meaning: an absent disputesPerClaim is the default 1, absent PoE limits are none', () => {
    expect(changesTo({ limits: { disputesPerClaim: 2, poeDocumentsPerClaim: 30, poeBytesPerClaim: undefined } })).toEqual([
      { section: 'limits', key: 'limits.disputesPerClaim', kind: 'changed', summary: 'limits: disputesPerClaim 1 → 2' },
      { section: 'limits', key: 'limits.poeDocumentsPerClaim', kind: 'changed', summary: 'limits: poeDocumentsPerClaim 25 → 30' },
      { section: 'limits', key: 'limits.poeBytesPerClaim', kind: 'removed', summary: 'limits: poeBytesPerClaim 104857600 removed' },
    ]);
    expect(changesTo({ limits: { disputesPerClaim: undefined } })).toEqual([]);
  });

  it('reports the roles added to and removed from an event', () => {
    expect(changesTo({ events: { approve: { roles: ['programManager'] } } })).toEqual([
      { section: 'events', key: 'events.approve.roles.reviewer', kind: 'removed', summary: 'event approve: role reviewer removed' },
      { section: 'events', key: 'events.approve.roles.programManager', kind: 'added', summary: 'event approve: role programManager added' },
    ]);
  });

  it('reports editable fields added and removed per state, also for a state newly listed', () => {
    expect(
      changesTo({ editableFields: { submitted: ['mpnId', 'products', 'customerContact', 'name'], underReview: ['customerContact'] } }),
    ).toEqual([
      {
        section: 'editableFields',
        key: 'editableFields.submitted.partnerContact',
        kind: 'removed',
        summary: 'editable in submitted: field partnerContact removed',
      },
      { section: 'editableFields', key: 'editableFields.submitted.name', kind: 'added', summary: 'editable in submitted: field name added' },
      {
        section: 'editableFields',
        key: 'editableFields.underReview.customerContact',
        kind: 'added',
        summary: 'editable in underReview: field customerContact added',
      },
    ]);
  });

  it('reports rejection reasons by code: added, removed, description and usableBy changes', () => {
    const reasons = bundledPolicyData().rejectionReasons as Array<Record<string, unknown>>;
    const next = reasons
      .filter((r) => r.code !== 'poeUnavailable')
      .map((r) => (r.code === 'insufficientPoe' ? { ...r, usableBy: ['reviewer', 'system'], description: 'Not enough proof.' } : r));
    next.unshift({ code: 'duplicateClaim', description: 'Another partner holds this association.', usableBy: ['reviewer'] });

    expect(changesTo({ rejectionReasons: next })).toEqual([
      {
        section: 'rejectionReasons',
        key: 'rejectionReasons.insufficientPoe.description',
        kind: 'changed',
        summary: 'rejection reason insufficientPoe: description "The proof of execution does not show the claimed association." → "Not enough proof."',
      },
      {
        section: 'rejectionReasons',
        key: 'rejectionReasons.insufficientPoe.usableBy.system',
        kind: 'added',
        summary: 'rejection reason insufficientPoe: role system added to usableBy',
      },
      {
        section: 'rejectionReasons',
        key: 'rejectionReasons.poeUnavailable',
        kind: 'removed',
        summary: 'rejection reason poeUnavailable removed (usable by reviewer)',
      },
      {
        section: 'rejectionReasons',
        key: 'rejectionReasons.duplicateClaim',
        kind: 'added',
        summary: 'rejection reason duplicateClaim added (usable by reviewer)',
      },
    ]);
  });

  it('reports a changed rule condition with the whole conditions before and after, narrowed in the summary', () => {
    const diff = diffPolicies(
      base,
      policyWith({ submissionRequirements: { 0: { when: { all: [{ fact: 'poeCount', operator: 'greaterThanInclusive', value: 2 }] } } } }),
    );

    expect(diff.changes).toEqual([
      {
        section: 'submissionRequirements',
        key: 'submissionRequirements.poeRequired.when',
        kind: 'changed',
        before: base.submissionRequirements[0]!.when,
        after: { all: [{ fact: 'poeCount', operator: 'greaterThanInclusive', value: 2 }] },
        summary: 'submission requirement poeRequired: when at all[0] poeCount greaterThanInclusive 1 → poeCount greaterThanInclusive 2',
      },
    ]);
  });

  it('reports submission requirements added and removed, and a changed message', () => {
    const products = (bundledPolicyData().submissionRequirements as Array<Record<string, unknown>>)[1];
    expect(changesTo({ submissionRequirements: [{ ...products, message: 'Add a product.' }] })).toEqual([
      {
        section: 'submissionRequirements',
        key: 'submissionRequirements.poeRequired',
        kind: 'removed',
        summary: 'submission requirement poeRequired removed (when all(poeCount greaterThanInclusive 1))',
      },
      {
        section: 'submissionRequirements',
        key: 'submissionRequirements.productsRequired.message',
        kind: 'changed',
        summary:
          'submission requirement productsRequired: message "Add at least one product or workload to the claim before submitting." → "Add a product."',
      },
    ]);
  });

  it('cuts long text in the summary and keeps it whole in before and after', () => {
    const description = 'The partner asked to withdraw the claim, for any reason at all, at any time before a decision.';
    const [change] = diffPolicies(base, policyWith({ rejectionReasons: { 0: { description } } })).changes;

    expect(change!.summary).toBe(
      'rejection reason partnerRequest: description "The partner asked to withdraw the claim (wrong MPN ID, wrong activity, no longe…" → "The partner asked to withdraw the claim, for any reason at all, at any time bef…"',
    );
    expect(change!.after).toBe(description);
  });

  it('reports deficiencies: a nested condition change, a when removed, a code added', () => {
    const deficiencies = bundledPolicyData().deficiencies as Array<{ code: string; description: string; when?: { all: unknown[] } }>;
    const next = deficiencies.map((d) => {
      if (d.code === 'missingPartnerSolution') return { code: d.code, description: d.description };
      if (d.code !== 'missingOrOldDates') return d;
      const any = [
        { fact: 'datedPoeCount', operator: 'equal', value: 0 },
        { fact: 'newestPoeAgeDays', operator: 'greaterThan', value: 180 },
      ];
      return { ...d, when: { all: [d.when!.all[0], { any }] } };
    });
    next.push({ code: 'unreadablePoe', description: 'The PoE cannot be read.' });

    expect(changesTo({ deficiencies: next })).toEqual([
      {
        section: 'deficiencies',
        key: 'deficiencies.missingOrOldDates.when',
        kind: 'changed',
        summary: 'deficiency missingOrOldDates: when at all[1].any[1] newestPoeAgeDays greaterThan 365 → newestPoeAgeDays greaterThan 180',
      },
      {
        section: 'deficiencies',
        key: 'deficiencies.missingPartnerSolution.when',
        kind: 'removed',
        summary: 'deficiency missingPartnerSolution: when all(poeCount greaterThan 0, workDescribedPoeCount equal 0) removed',
      },
      {
        section: 'deficiencies',
        key: 'deficiencies.unreadablePoe',
        kind: 'added',
        summary: 'deficiency unreadablePoe added (reviewer-only)',
      },
    ]);
  });

  it('reports deadlines: durations, states, actions, and deadlines added and removed', () => {
    expect(
      changesTo({
        deadlines: {
          partnerResponse: { businessDays: 10 },
          decisionTarget: { pausedIn: ['partnerActionRequired', 'disputed'] },
          consentWindow: { days: undefined, businessDays: 5 },
          reviewDecision: { onDue: { escalate: undefined, send: 'reject', with: { reason: 'insufficientPoe' } } },
          disputeResponse: undefined,
          poeUpload: { runsIn: ['editing'], days: 30, onDue: { escalate: true } },
        },
      }),
    ).toEqual([
      {
        section: 'deadlines',
        key: 'deadlines.reviewDecision.onDue',
        kind: 'changed',
        summary: 'deadline reviewDecision: onDue { escalate: true } → { send: reject, with: { reason: insufficientPoe } }',
      },
      { section: 'deadlines', key: 'deadlines.partnerResponse.businessDays', kind: 'changed', summary: 'deadline partnerResponse: businessDays 5 → 10' },
      {
        section: 'deadlines',
        key: 'deadlines.decisionTarget.pausedIn.disputed',
        kind: 'added',
        summary: 'deadline decisionTarget: state disputed added to pausedIn',
      },
      { section: 'deadlines', key: 'deadlines.consentWindow.businessDays', kind: 'added', summary: 'deadline consentWindow: businessDays 5 added' },
      { section: 'deadlines', key: 'deadlines.consentWindow.days', kind: 'removed', summary: 'deadline consentWindow: days 7 removed' },
      {
        section: 'deadlines',
        key: 'deadlines.disputeResponse',
        kind: 'removed',
        summary: 'deadline disputeResponse removed (runsIn disputed, 5 business days, onDue { escalate: true })',
      },
      {
        section: 'deadlines',
        key: 'deadlines.poeUpload',
        kind: 'added',
        summary: 'deadline poeUpload added (runsIn editing, 30 days, onDue { escalate: true })',
      },
    ]);
  });

  it('reports incentive programs by code: eligibility, name and illustrative changes', () => {
    expect(
      changesTo({
        incentivePrograms: {
          1: { name: 'Online Services Advisory', illustrative: undefined, eligibility: { all: [{ fact: 'productLines', operator: 'contains', value: 'businessApplications' }] } },
        },
      }),
    ).toEqual([
      {
        section: 'incentivePrograms',
        key: 'incentivePrograms.OSA.name',
        kind: 'changed',
        summary: 'incentive program OSA: name "Online Services Advisory (illustrative)" → "Online Services Advisory"',
      },
      { section: 'incentivePrograms', key: 'incentivePrograms.OSA.illustrative', kind: 'changed', summary: 'incentive program OSA: illustrative true → false' },
      {
        section: 'incentivePrograms',
        key: 'incentivePrograms.OSA.eligibility',
        kind: 'changed',
        summary:
          'incentive program OSA: eligibility all(productLines contains businessApplications, activity in [preSales, deployment]) → all(productLines contains businessApplications)',
      },
    ]);
  });

  it('lists changes in section order', () => {
    const sections = diffPolicies(
      base,
      policyWith({ version: '2', deadlines: { reviewStart: { businessDays: 3 } }, roles: { auditor: { kind: 'internal' } }, calendar: { timeZone: 'UTC' } }),
    ).changes.map((c) => c.section);
    expect(sections).toEqual(['meta', 'calendar', 'roles', 'deadlines']);
  });
});

describe('policyDiffCommand', () => {
  let dir: string;
  let stdout: string;
  let stderr: string;
  const out = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cpor-diff-'));
    stdout = '';
    stderr = '';
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function files(b: PolicyOverrides): Promise<[string, string]> {
    const first = join(dir, 'a.yaml');
    const second = join(dir, 'b.yaml');
    await writeFile(first, policyYaml());
    await writeFile(second, policyYaml(b));
    return [first, second];
  }

  it('prints the changes grouped by section and exits 0 although they differ', async () => {
    const [a, b] = await files({ version: '2026.2', deadlines: { partnerResponse: { businessDays: 10 } }, events: { approve: { roles: ['reviewer', 'programManager'] } } });

    expect(await policyDiffCommand(a, b, {}, out)).toBe(0);
    expect(stdout).toBe(
      [
        `--- ${a} (cpor 2026.1)`,
        `+++ ${b} (cpor 2026.2)`,
        '',
        'meta',
        '  ~ policy: version 2026.1 → 2026.2',
        '',
        'events',
        '  + event approve: role programManager added',
        '',
        'deadlines',
        '  ~ deadline partnerResponse: businessDays 5 → 10',
        '',
        '3 changes',
        '',
      ].join('\n'),
    );
    expect(stderr).toBe('');
  });

  it('prints the diff as JSON with --json', async () => {
    const [a, b] = await files({ deadlines: { partnerResponse: { businessDays: 10 } } });

    expect(await policyDiffCommand(a, b, { json: true }, out)).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      from: { id: 'cpor', version: '2026.1', file: a },
      to: { id: 'cpor', version: '2026.1', file: b },
      changes: [
        {
          section: 'deadlines',
          key: 'deadlines.partnerResponse.businessDays',
          kind: 'changed',
          before: 5,
          after: 10,
          summary: 'deadline partnerResponse: businessDays 5 → 10',
        },
      ],
    });
  });

  it('with exitCode exits 1 when the policies differ and 0 when they do not', async () => {
    const [a, b] = await files({ calendar: { timeZone: 'UTC' } });

    expect(await policyDiffCommand(a, b, { exitCode: true }, out)).toBe(1);
    expect(await policyDiffCommand(a, a, { exitCode: true }, out)).toBe(0);
    expect(stdout).toContain('\nno differences\n');
  });

  it('prints a broken file’s located errors on stderr and exits 1 (2 with exitCode)', async () => {
    const text = policyYaml({ deadlines: { reviewStart: { runsIn: ['nowhere'] } } });
    const [a, b] = await files({});
    await writeFile(b, text);
    const { line, column } = positionOf(text, 'nowhere');

    expect(await policyDiffCommand(a, b, {}, out)).toBe(1);
    expect(stderr).toMatch(new RegExp(`^${b}:${line}:${column} error unknownState `));
    expect(stdout).toBe('');
    expect(await policyDiffCommand(a, b, { exitCode: true }, out)).toBe(2);
  });

  it('is wired as cpor policy diff, with --exit-code and a usage error for a missing file name', async () => {
    const [a, b] = await files({ calendar: { timeZone: 'UTC' } });

    expect(await main(['policy', 'diff', a, b, '--exit-code'], out)).toBe(1);
    expect(stdout).toContain('~ calendar: timeZone America/Los_Angeles → UTC');
    expect(await main(['policy', 'diff', a], out)).toBe(2);
    expect(stderr).toContain('usage: cpor policy diff A B [--json] [--exit-code]');
  });
});
