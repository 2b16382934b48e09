/**
 * The streaming backtest's replay of one stored claim: verdict-only through the lifecycle
 * core, its rule results through a cache shared across claims, its latency timed on a
 * sample. Every shortcut must leave each claim's result exactly as the one-core runBacktest
 * (a full replay through the claim service) reports it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/backtest/backtest';
import { createReportWriter } from '../../src/backtest/report-stream';
import { backtestStoredClaim, latencySample, type ClaimBacktestContext, type ClaimResult, type StoredClaim } from '../../src/backtest/stream-backtest';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord } from '../../src/claims/claim-record';
import { applyEvent, fireDeadlines } from '../../src/claims/lifecycle';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import type { Actor } from '../../src/domain/claim-types';
import { createRuleResultCache } from '../../src/evaluation/rule-result-cache';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { singlePolicySource } from '../../src/policies/policy-source';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, poePayload } from '../support/factories';

const PARTNER: Actor = ACTORS.partner;
const REVIEWER: Actor = ACTORS.reviewer;
const UNTIL = new Date('2026-06-01T00:00:00Z');
/** Before some claims' later events and deadlines: their baselines must be replayed. */
const EARLY = new Date('2026-03-05T00:00:00Z');

let bundled: CompiledPolicy;
let longerPartnerResponse: CompiledPolicy;
/** The bundled policy with one more deficiency every claim has: the same id and version, other rules. */
let extraDeficiency: CompiledPolicy;
let stored: StoredClaim[];

/** Claims in several states (with PoE, submitted, reviewed, asked for information, answered or not, approved), stored by a claim service. */
async function storeClaims(policy: CompiledPolicy): Promise<StoredClaim[]> {
  const clock = createVirtualClock(new Date('2026-03-02T17:00:00Z'));
  const store = createMemoryClaimStore();
  let name = '';
  let poes = 0;
  const service = createClaimService({ store, policy, clock, ids: { next: (kind) => (kind === 'claim' ? name : `poe-${++poes}`) } });
  const act = (id: string, at: string, event: string, actor: Actor, payload: Record<string, unknown> = {}) => {
    clock.set(new Date(at));
    return service.act(id, event, actor, payload);
  };
  for (let i = 0; i < 12; i++) {
    name = `claim-${i}`;
    const day = `2026-03-0${2 + (i % 4)}`;
    clock.set(new Date(`${day}T17:00:00Z`));
    await service.create(PARTNER, { ...claimFields(), activity: i % 3 === 0 ? 'usage' : 'deployment' });
    if (i % 6 === 5) continue;
    await act(name, `${day}T17:05:00Z`, 'uploadPoe', PARTNER, poePayload({ customerSigned: i % 4 !== 1 }));
    await act(name, `${day}T17:10:00Z`, 'submit', PARTNER);
    if (i % 5 === 4) continue;
    await act(name, `${day}T18:00:00Z`, 'startReview', REVIEWER);
    if (i % 2 === 0) {
      await act(name, `${day}T19:00:00Z`, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Signature page?' });
      if (i % 4 === 0) await act(name, `2026-03-0${3 + (i % 4)}T18:00:00Z`, 'resubmit', PARTNER, { comment: 'Attached.' });
    } else {
      await act(name, `${day}T19:00:00Z`, 'approve', REVIEWER);
    }
  }
  await service.fireDue(UNTIL);
  const ids = await store.allClaimIds();
  return Promise.all(ids.map(async (id) => ({ record: (await store.getClaim(id))!, history: await store.listHistory(id) })));
}

beforeAll(async () => {
  bundled = await compiledBundledPolicy();
  longerPartnerResponse = compilePolicy(
    withPolicy(bundled.policy, (p) => {
      p.version = '2026.2-candidate';
      (p.deadlines.partnerResponse as { businessDays: number }).businessDays = 10;
    }),
  );
  extraDeficiency = compilePolicy(
    withPolicy(bundled.policy, (p) => {
      p.deficiencies.push({ code: 'alwaysFound', description: 'Found on every claim.', when: { fact: 'productCount', operator: 'greaterThanInclusive', value: 0 } } as never);
    }),
  );
  stored = await storeClaims(bundled);
});

const context = (candidate: CompiledPolicy, until: Date, extra: Partial<ClaimBacktestContext> = {}): ClaimBacktestContext => ({
  policies: singlePolicySource(bundled),
  candidate,
  until,
  latency: false,
  stopwatch: () => 0,
  ...extra,
});

/** What runBacktest (one core, a full replay through the claim service for each claim) reports. */
async function reference(candidate: CompiledPolicy, until: Date) {
  const byId = new Map(stored.map((claim) => [claim.record.id, claim]));
  const store = {
    allClaimIds: () => Promise.resolve([...byId.keys()]),
    getClaim: (id: string) => Promise.resolve(byId.get(id)?.record),
    listHistory: (id: string) => Promise.resolve(byId.get(id)?.history ?? []),
  };
  return runBacktest({ store, policies: singlePolicySource(bundled), candidate, until, fullReplay: true });
}

describe('backtestStoredClaim', () => {
  it('through a rule cache shared across claims, every claim gets the result of the full replay, whether its baseline is read or replayed', async () => {
    for (const until of [UNTIL, EARLY]) {
      for (const candidate of [bundled, longerPartnerResponse, extraDeficiency]) {
        const cache = createRuleResultCache(1000);
        const cached: Array<ClaimResult | undefined> = [];
        const cold: Array<ClaimResult | undefined> = [];
        for (const claim of stored) {
          cached.push(await backtestStoredClaim(claim, context(candidate, until, { ruleCache: cache })));
          cold.push(await backtestStoredClaim(claim, context(candidate, until)));
        }
        const expected = (await reference(candidate, until)).claims;
        const claims = (results: typeof cached) => results.flatMap((r) => (r?.kind === 'claim' ? [r.claim] : []));
        expect(claims(cached)).toEqual(expected);
        expect(claims(cold)).toEqual(expected);
        expect(cache.hits).toBeGreaterThan(0);
      }
    }
  });

  it('one cache never answers a policy with another\'s rule results, even under the same id and version', async () => {
    const cache = createRuleResultCache(1000);
    for (const claim of stored) {
      // The same facts meet both policies, one after the other, through one cache.
      const plain = await backtestStoredClaim(claim, { ...context(extraDeficiency, UNTIL, { ruleCache: cache }), policies: singlePolicySource(bundled) });
      const again = await backtestStoredClaim(claim, context(bundled, UNTIL, { ruleCache: cache }));
      if (plain?.kind !== 'claim' || again?.kind !== 'claim') throw new Error('every stored claim is in the backtest');
      expect(plain.claim.candidate.deficiencies).toContain('alwaysFound');
      expect(again.claim.candidate.deficiencies).not.toContain('alwaysFound');
      expect(again.claim.changed).toBe(false);
    }
  });

  it('a timed claim (in the latency sample) replays both sides cold: the rule cache is not asked', async () => {
    const cache = createRuleResultCache(1000);
    const [claim] = stored;
    let ticks = 0;
    const timed = await backtestStoredClaim(claim!, context(longerPartnerResponse, UNTIL, { latency: true, ruleCache: cache, stopwatch: () => ++ticks }), 0);
    expect(timed).toMatchObject({ kind: 'claim', timing: { baselineMs: 1, candidateMs: 1 } });
    expect(cache.hits + cache.misses).toBe(0);
    const untimed = await backtestStoredClaim(claim!, context(longerPartnerResponse, UNTIL, { latency: true, ruleCache: cache }), 1001);
    expect(untimed).not.toHaveProperty('timing');
    expect(cache.hits + cache.misses).toBeGreaterThan(0);
  });
});

describe('latencySample', () => {
  it('times the first 1,000 claims, then every 100th, each with its place in the sample', () => {
    expect([0, 1, 999].map(latencySample)).toEqual([0, 1, 999]);
    expect([1000, 1100, 1200, 100_000].map(latencySample)).toEqual([1000, 1001, 1002, 1990]);
    expect([1001, 1050, 1099, 99_999].map(latencySample)).toEqual([undefined, undefined, undefined, undefined]);
  });
});

/** A verdict-only record is the full one but for its history chain's head (never sealed) and the assessment's sentences. */
function expectSameVerdict(lean: ClaimRecord, full: ClaimRecord) {
  expect(lean.lastHash).toBeNull();
  expect(full.lastHash).not.toBeNull();
  const { lastHash: _a, assessment: fullAssessment, ...fullRest } = full;
  const { lastHash: _b, assessment: leanAssessment, ...leanRest } = lean;
  expect(leanRest).toEqual(fullRest);
  const verdicts = (assessment: ClaimRecord['assessment']) => assessment && { at: assessment.at, programs: assessment.programs.map(({ code, eligible }) => ({ code, eligible })) };
  expect(verdicts(leanAssessment)).toEqual(verdicts(fullAssessment));
  expect(leanAssessment?.programs.every((p) => p.summary === '') ?? true).toBe(true);
}

describe('the lifecycle core, verdict only', () => {
  it('gives each step the record the full core gives, without its history entry, decision record, hash or explanation text', async () => {
    const [claim] = stored.filter((s) => s.record.status === 'approved');
    if (!claim) throw new Error('an approved claim is stored');
    let full: Awaited<ReturnType<typeof applyEvent>> | undefined;
    let lean: Awaited<ReturnType<typeof applyEvent>> | { ok: true; record: NonNullable<typeof claim.record> } | undefined;
    for (const entry of claim.history.filter((e) => e.actor.role !== 'system')) {
      const event = { type: entry.event, actor: entry.actor, at: entry.at, payload: entry.payload, meta: { ...(entry.refs?.claimId ? { claimId: entry.refs.claimId } : {}), ...(entry.refs?.poeId ? { poeId: entry.refs.poeId } : {}) } } as never;
      const fullBefore = full?.ok ? (await fireDeadlines(() => bundled, full.record, new Date(entry.at))).record : null;
      const leanBefore = lean?.ok ? (await fireDeadlines(() => bundled, lean.record, new Date(entry.at), { verdictOnly: true })).record : null;
      full = await applyEvent(bundled, fullBefore, event);
      const verdict = await applyEvent(bundled, leanBefore, event, undefined, { verdictOnly: true });
      expect(verdict).not.toHaveProperty('entry');
      expect(verdict).not.toHaveProperty('decision');
      if (!full.ok || !verdict.ok) throw new Error('a stored claim\'s events apply again');
      expectSameVerdict(verdict.record, full.record);
      lean = verdict;
    }
    if (!full?.ok || !lean?.ok) throw new Error('a stored claim\'s events apply again');
    // The consent window's deadline sends the claim to assessment: eligibility verdicts, without their sentences.
    const fullEnd = await fireDeadlines(() => bundled, full.record, UNTIL);
    const leanEnd = await fireDeadlines(() => bundled, lean.record, UNTIL, { verdictOnly: true });
    expect('entries' in leanEnd ? leanEnd.entries : []).toEqual([]);
    expect(fullEnd.entries.length).toBeGreaterThan(0);
    expectSameVerdict(leanEnd.record, fullEnd.record);
    expect(fullEnd.record.assessment?.programs.length).toBeGreaterThan(0);
  });
});

describe('the text summary', () => {
  it('gives the rule cache\'s hit rate when the replays used one, and no line when none was asked', async () => {
    const text = async (ruleCache: { hits: number; misses: number } | null) => {
      let out = '';
      const writer = createReportWriter('text', { candidate: { id: 'cpor', version: 'x' }, until: UNTIL.toISOString(), since: null }, (chunk) => void (out += chunk));
      await writer.end({ totals: { claims: 0, changed: 0, unchanged: 0, skipped: 0, byField: {}, byStatus: [], byReason: [], durationMs: 0 }, latency: null, ruleCache });
      return out;
    };
    expect(await text({ hits: 975, misses: 25 })).toContain('rule results from the cache: 97.5% of 1000 rule-set evaluations');
    expect(await text({ hits: 0, misses: 0 })).not.toContain('rule results from the cache');
    expect(await text(null)).not.toContain('rule results from the cache');
  });
});
