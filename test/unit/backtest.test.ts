import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runBacktest, type BacktestOptions, type BacktestReport } from '../../src/backtest/backtest';
import { csvField, formatSummary, toCsv } from '../../src/backtest/backtest-report';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimStore } from '../../src/claims/claim-store';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { singlePolicySource } from '../../src/policies/policy-source';
import type { Actor } from '../../src/domain/claim-types';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, poePayload } from '../support/factories';

// Counts replays, to see that the stored-record shortcut skips the baseline's.
const replays = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/backtest/replay', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/backtest/replay')>();
  return {
    ...actual,
    replayHistory: (...args: Parameters<typeof actual.replayHistory>) => {
      replays.count += 1;
      return actual.replayHistory(...args);
    },
  };
});

const PARTNER: Actor = ACTORS.partner;
const REVIEWER: Actor = ACTORS.reviewer;
const CUSTOMER: Actor = ACTORS.customer;
const POE = poePayload();
const UNTIL = new Date('2026-06-01T00:00:00Z');

let bundled: CompiledPolicy;
/** partnerResponse 5 → 10 business days. */
let longerPartnerResponse: CompiledPolicy;
/** consentWindow 7 → 3 days. */
let shorterConsentWindow: CompiledPolicy;

beforeAll(async () => {
  bundled = await compiledBundledPolicy();
  longerPartnerResponse = compilePolicy(
    withPolicy(bundled.policy, (p) => {
      p.version = '2026.2-candidate';
      (p.deadlines.partnerResponse as { businessDays: number }).businessDays = 10;
    }),
  );
  shorterConsentWindow = compilePolicy(
    withPolicy(bundled.policy, (p) => {
      (p.deadlines.consentWindow as { days: number }).days = 3;
    }),
  );
});

beforeEach(() => {
  replays.count = 0;
});

/** A memory store filled through a claim service on a clock the test moves; claim ids are the names given. */
function claimsHarness(policy: CompiledPolicy = bundled) {
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const store = createMemoryClaimStore();
  let name = '';
  let poes = 0;
  const service = createClaimService({
    store,
    policy,
    clock,
    ids: { next: (kind) => (kind === 'claim' ? name : `poe-${++poes}`) },
  });
  const at = (instant: string) => clock.set(new Date(instant));
  const act = async (claimId: string, instant: string, event: string, actor: Actor, payload: Record<string, unknown> = {}) => {
    at(instant);
    return service.act(claimId, event, actor, payload);
  };
  /** Created and documented on `day` at 17:00Z (09:00 or 10:00 in Los Angeles). */
  const draft = async (id: string, day: string) => {
    name = id;
    at(`${day}T17:00:00Z`);
    await service.create(PARTNER, claimFields());
    await act(id, `${day}T17:05:00Z`, 'uploadPoe', PARTNER, POE);
    return id;
  };
  /** Submitted on `day`, under review from `day` + 1 hour. */
  const inReview = async (id: string, day: string) => {
    await draft(id, day);
    await act(id, `${day}T17:10:00Z`, 'submit', PARTNER);
    await act(id, `${day}T18:00:00Z`, 'startReview', REVIEWER);
    return id;
  };
  const requestInfo = (id: string, instant: string) =>
    act(id, instant, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page.' });
  return { store, service, clock, at, act, draft, inReview, requestInfo };
}

/** Claims of each kind a partnerResponse change can touch, or not. */
async function mixedClaims(service: ReturnType<typeof claimsHarness>) {
  const { draft, inReview, requestInfo, act } = service;
  await draft('editing', '2026-03-02');
  await inReview('approved', '2026-03-02');
  await act('approved', '2026-03-04T18:00:00Z', 'approve', REVIEWER);
  // requestInfo Wed Mar 4: 5 business days → due Mar 11; 10 → Mar 18. Both before UNTIL.
  await inReview('neverAnswers', '2026-03-03');
  await requestInfo('neverAnswers', '2026-03-04T18:00:00Z');
  await inReview('answersInTime', '2026-03-03');
  await requestInfo('answersInTime', '2026-03-04T18:00:00Z');
  await act('answersInTime', '2026-03-06T18:00:00Z', 'resubmit', PARTNER, { comment: 'Signed copy attached.' });
  await act('answersInTime', '2026-03-09T18:00:00Z', 'approve', REVIEWER);
  // requestInfo Wed May 20: 5 business days → due May 28 (Memorial Day skipped); 10 → Jun 4, after UNTIL.
  await inReview('recentNoAnswer', '2026-05-19');
  await requestInfo('recentNoAnswer', '2026-05-20T18:00:00Z');
}

const backtest = (store: ClaimStore, candidate: CompiledPolicy, options: Partial<BacktestOptions> = {}) =>
  runBacktest({ store, policies: singlePolicySource(bundled), candidate, until: UNTIL, ...options });

const changedIds = (report: BacktestReport) => report.claims.filter((c) => c.changed).map((c) => c.claimId).sort();

/** A report without its stopwatch reading, for comparing runs. */
const withoutDuration = (report: BacktestReport) => ({ ...report, totals: { ...report.totals, durationMs: 0 } });

describe('runBacktest', () => {
  it('reports no change for any claim when the candidate is the policy the claims follow', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    await h.service.fireDue(UNTIL);
    const report = await backtest(h.store, bundled);
    expect(report.totals).toMatchObject({ claims: 5, changed: 0, unchanged: 5, skipped: 0, byField: {} });
    expect(report.claims.every((c) => c.changes.length === 0)).toBe(true);
    expect(report.candidate).toEqual({ id: 'cpor', version: '2026.1' });
    expect(report.until).toBe('2026-06-01T00:00:00.000Z');
    expect(report.since).toBeNull();
  });

  it('reports no change under a copy of the policy with another version string', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    const copy = compilePolicy(withPolicy(bundled.policy, (p) => void (p.version = '2027.1')));
    const report = await backtest(h.store, copy);
    expect(report.totals.changed).toBe(0);
  });

  it('a longer partnerResponse deadline changes exactly the claims that waited for the partner', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    await h.service.fireDue(UNTIL);
    const report = await backtest(h.store, longerPartnerResponse);
    expect(changedIds(report)).toEqual(['answersInTime', 'neverAnswers', 'recentNoAnswer']);
    expect(report.totals).toMatchObject({ claims: 5, changed: 3, unchanged: 2 });

    const byId = new Map(report.claims.map((c) => [c.claimId, c]));
    // Rejected either way, a week later: only the deadline runs move.
    const never = byId.get('neverAnswers')!;
    expect(never.changes.map((c) => c.field)).toEqual(['deadlines']);
    expect(never.baseline).toMatchObject({ status: 'rejected', reason: 'noPartnerResponse' });
    expect(never.candidate).toMatchObject({ status: 'rejected', reason: 'noPartnerResponse' });
    expect(never.changes[0]!.summary).toContain('partnerResponse#1 due 2026-03-11 fired → due 2026-03-18 fired');
    // Still waiting for the partner at UNTIL under the candidate.
    const recent = byId.get('recentNoAnswer')!;
    expect(recent.changes.map((c) => c.field)).toEqual(['status', 'reason', 'deadlines']);
    expect(recent.changes[0]).toMatchObject({ before: 'rejected', after: 'partnerActionRequired', summary: 'status rejected → partnerActionRequired' });
    expect(recent.changes[1]).toMatchObject({ before: 'noPartnerResponse', after: null });
    expect(recent.candidate.deadlines).toContainEqual({
      name: 'partnerResponse',
      due: '2026-06-04',
      dueAt: '2026-06-05T07:00:00.000Z',
      outcome: 'pending',
    });
    // Answered in time under both: the met deadline's due date moves.
    expect(byId.get('answersInTime')!.changes.map((c) => c.summary)).toEqual([
      'partnerResponse#1 due 2026-03-11 met → due 2026-03-18 met',
    ]);
    expect(report.totals.byField).toEqual({ status: 1, reason: 1, deadlines: 3 });
  });

  it('a shorter consent window reports the customer decline it would have refused', async () => {
    const h = claimsHarness();
    await h.inReview('declined', '2026-03-02');
    await h.act('declined', '2026-03-04T18:00:00Z', 'approve', REVIEWER);
    // Day 5 of the 7-day window; a 3-day window closed on Mar 8.
    await h.act('declined', '2026-03-09T18:00:00Z', 'denyConsent', CUSTOMER, { comment: 'We did not work with them.' });
    const [claim] = (await backtest(h.store, shorterConsentWindow)).claims;
    expect(claim!.baseline).toMatchObject({ status: 'rejected', reason: 'customerDecline', refused: [] });
    expect(claim!.candidate).toMatchObject({ status: 'approved', substatus: 'sentForAssessment', reason: null });
    expect(claim!.candidate.refused).toEqual([{ seq: expect.any(Number), event: 'denyConsent', code: expect.any(String) }]);
    expect(claim!.changes.map((c) => c.field)).toEqual(['status', 'substatus', 'reason', 'deadlines', 'refused']);
  });

  it('since keeps only the claims created at or after it', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    await h.draft('lateEditing', '2026-05-25');
    const report = await backtest(h.store, longerPartnerResponse, { since: new Date('2026-05-19T17:00:00Z') });
    expect(report.claims.map((c) => c.claimId).sort()).toEqual(['lateEditing', 'recentNoAnswer']);
    expect(report.since).toBe('2026-05-19T17:00:00.000Z');
    expect(changedIds(report)).toEqual(['recentNoAnswer']);
    const none = await backtest(h.store, longerPartnerResponse, { since: new Date('2026-05-26T00:00:00Z') });
    expect(none.totals.claims).toBe(0);
  });

  it('reports progress once with 0 done, then after every claim, up to the total', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    const calls: Array<[number, number]> = [];
    await backtest(h.store, longerPartnerResponse, { concurrency: 3, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([0, 1, 2, 3, 4, 5].map((done) => [done, 5]));
  });

  it('a progress callback that throws before the first claim aborts the backtest before any replay', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    const tooMany = new Error('too many claims');
    const onProgress = (_done: number, total: number) => {
      if (total > 3) throw tooMany;
    };
    await expect(backtest(h.store, longerPartnerResponse, { onProgress })).rejects.toBe(tooMany);
    expect(replays.count).toBe(0);
  });

  it('keeps the claims in the store order (creation), whatever the concurrency', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    const order = await h.store.allClaimIds();
    for (const concurrency of [1, 2, 8]) {
      expect((await backtest(h.store, longerPartnerResponse, { concurrency })).claims.map((c) => c.claimId)).toEqual(order);
    }
  });

  it('the stored-record shortcut gives the same report as replaying every baseline, with half the replays', async () => {
    const h = claimsHarness();
    await mixedClaims(h);
    // Deadlines of the first claims fired in the store; recentNoAnswer's due rejection has not (its record is stale).
    await h.service.fireDue(new Date('2026-05-01T00:00:00Z'));
    for (const candidate of [bundled, longerPartnerResponse, shorterConsentWindow]) {
      replays.count = 0;
      const shortcut = await backtest(h.store, candidate);
      const shortcutReplays = replays.count;
      replays.count = 0;
      const full = await backtest(h.store, candidate, { fullReplay: true });
      expect(withoutDuration(shortcut)).toEqual(withoutDuration(full));
      expect(replays.count).toBe(10);
      // Only the stale record is replayed for its baseline.
      expect(shortcutReplays).toBe(6);
    }
  });

  it('leaves out history after until (then replays the baseline) and claims created after it', async () => {
    const h = claimsHarness();
    await h.inReview('approvedLater', '2026-03-02');
    await h.act('approvedLater', '2026-03-04T18:00:00Z', 'approve', REVIEWER);
    await h.draft('createdLater', '2026-03-05');
    await h.service.fireDue(UNTIL);
    const report = await backtest(h.store, bundled, { until: new Date('2026-03-04T00:00:00Z') });
    expect(report.claims.map((c) => c.claimId)).toEqual(['approvedLater']);
    expect(report.claims[0]).toMatchObject({ changed: false, baseline: { status: 'underReview' }, candidate: { status: 'underReview' } });
    expect(replays.count).toBe(2);
  });

  it('skips a pinned claim whose policy version is not loaded and still needs a replay', async () => {
    const h = claimsHarness();
    await h.inReview('pinnedRunning', '2026-05-19');
    await h.inReview('pinnedDone', '2026-03-02');
    await h.act('pinnedDone', '2026-03-04T18:00:00Z', 'approve', REVIEWER);
    await h.service.fireDue(new Date('2026-04-01T00:00:00Z'));
    const other = compilePolicy(withPolicy(bundled.policy, (p) => void (p.version = '2027.1')));
    const report = await runBacktest({
      store: h.store,
      policies: singlePolicySource(other),
      candidate: other,
      until: UNTIL,
    });
    expect(report.skipped).toEqual([
      { claimId: 'pinnedRunning', code: 'policyUnavailable', message: expect.stringContaining('cpor 2026.1') },
    ]);
    expect(report.totals).toMatchObject({ claims: 1, skipped: 1, changed: 0 });
  });

  it('measures its duration with the clock it is given', async () => {
    const h = claimsHarness();
    await h.draft('one', '2026-03-02');
    let tick = 1000;
    const report = await backtest(h.store, bundled, { now: () => (tick += 250) });
    expect(report.totals.durationMs).toBe(250);
  });
});

describe('backtest reports', () => {
  const report = (): BacktestReport => {
    const outcome = { status: 'rejected', substatus: null, reason: 'noPartnerResponse', overdue: [], deficiencies: [], deadlines: [], refused: [] };
    return {
      candidate: { id: 'cpor', version: '2026.2' },
      until: '2026-06-01T00:00:00.000Z',
      since: null,
      totals: { claims: 2, changed: 1, unchanged: 1, skipped: 0, byField: { status: 1, overdue: 1 }, durationMs: 1234 },
      claims: [
        {
          claimId: 'claim, "quoted"\nand broken',
          changed: true,
          baseline: outcome,
          candidate: { ...outcome, status: 'partnerActionRequired', reason: null, overdue: ['decisionTarget', 'reviewDecision'] },
          changes: [
            { field: 'status', before: 'rejected', after: 'partnerActionRequired', summary: 'status rejected → partnerActionRequired' },
            { field: 'overdue', before: [], after: ['decisionTarget'], summary: 'overdue +decisionTarget' },
            { field: 'deadlines', before: [], after: [], summary: 'partnerResponse#1 due 2026-03-11 fired → due 2026-03-18 pending; x "y"' },
          ],
        },
        { claimId: 'plain', changed: false, baseline: outcome, candidate: outcome, changes: [] },
      ],
      skipped: [],
    };
  };

  it('CSV: a header and one CRLF-terminated row per claim, fields quoted per RFC 4180', () => {
    const lines = toCsv(report()).split('\r\n');
    expect(lines[0]).toBe(
      'claimId,changed,fieldsChanged,statusBefore,statusAfter,reasonBefore,reasonAfter,overdueBefore,overdueAfter,deficienciesBefore,deficienciesAfter,deadlineChanges',
    );
    expect(toCsv(report()).endsWith('\r\n')).toBe(true);
    expect(toCsv(report())).toContain(
      '"claim, ""quoted""\nand broken",true,status overdue deadlines,rejected,partnerActionRequired,noPartnerResponse,,,decisionTarget reviewDecision,,,' +
        '"partnerResponse#1 due 2026-03-11 fired → due 2026-03-18 pending; x ""y"""\r\n',
    );
    expect(toCsv(report())).toContain('\r\nplain,false,,rejected,rejected,noPartnerResponse,noPartnerResponse,,,,,\r\n');
  });

  it('CSV fields are quoted only when they hold a comma, a quote or a line break', () => {
    expect(csvField('abc')).toBe('abc');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField('')).toBe('');
  });

  it('a CSV cell a spreadsheet would run as a formula is prefixed with a quote mark', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('+1')).toBe("'+1");
  });

  it.each([
    ['a line feed', '\n=1+1', `"'\n=1+1"`],
    ['a carriage return', '\r=1+1', `"'\r=1+1"`],
    ['a tab', '\t=1+1', "'\t=1+1"],
    ['a space', ' =1+1', "' =1+1"],
    ['a semicolon', ';=1+1', "';=1+1"],
    ['a minus', '-2+3', "'-2+3"],
    ['a full-width equals sign', '\uFF1D1+1', "'\uFF1D1+1"],
    ['a full-width plus sign', '\uFF0B1', "'\uFF0B1"],
    ['a full-width minus sign', '\uFF0D1', "'\uFF0D1"],
    ['a full-width commercial at', '\uFF20SUM(A1)', "'\uFF20SUM(A1)"],
  ])('a CSV cell starting with %s is neutralised with a quote mark', (_name, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('a CSV cell that only holds such a character later is left as it is', () => {
    expect(csvField('Contoso; Ltd = 1')).toBe('Contoso; Ltd = 1');
    expect(csvField('a@b.c')).toBe('a@b.c');
  });

  it('the summary gives the totals and a block per changed claim only', () => {
    const text = formatSummary(report());
    expect(text).toContain('Backtest of policy cpor 2026.2 until 2026-06-01T00:00:00.000Z');
    expect(text).toContain('2 claims: 1 changed, 1 unchanged (1.2 s)');
    expect(text).toContain('changed fields: status 1, overdue 1');
    expect(text).toContain('  status rejected → partnerActionRequired\n');
    expect(text).not.toContain('plain');
  });

  it('the summary lists at most maxClaims changed claims and says how many more there are', () => {
    const many = report();
    many.claims = [0, 1, 2].map((n) => ({ ...many.claims[0]!, claimId: `claim-${n}` }));
    const text = formatSummary(many, { maxClaims: 2 });
    expect(text).toContain('claim-1: rejected → partnerActionRequired');
    expect(text).not.toContain('claim-2');
    expect(text).toContain('… and 1 more changed claims (the JSON and CSV reports list every claim)');
  });
});
