import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policies/compiled-policy';
import { staticPolicySource, type PolicySource } from '../../src/policies/policy-registry';
import { compiledBundledPolicy, withPolicy } from '../support/bundled-policy';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { httpHelpers, type HttpHelpers, useHttpApp } from '../support/http-requests';
import { createTestApp, type TestApp } from '../support/test-app';

const deadline = (body: { deadlines: Array<{ name: string }> }, name: string) => body.deadlines.filter((d) => d.name === name).at(-1) as Record<string, unknown>;
type Action = { event: string; allowed: boolean; reason?: string; code?: string };
const action = (body: { actions: Action[] }, event: string) => body.actions.find((a) => a.event === event);

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: HttpHelpers;
  useHttpApp({ database: db }, (app) => ({ t, h } = app));

  describe('a claim answers its deadlines with the time left, in business days of the policy calendar', () => {
    it('a request for information on Monday leaves the partner 5 business days (to the next Monday) and pauses the decision clock', async () => {
      const id = await h.claimIn('partnerActionRequired'); // all on Monday 2 March 2026, 09:00 in Los Angeles
      const { body } = await h.getClaim(id, 'partner');
      expect(body.timeZone).toBe('America/Los_Angeles');
      expect(deadline(body, 'partnerResponse')).toMatchObject({
        due: '2026-03-09',
        dueAt: '2026-03-10T07:00:00.000Z', // midnight after the due date, in daylight saving time (from 8 March)
        paused: false,
        businessDaysLeft: 5,
        hoursLeft: 182,
        atRisk: false,
        overdue: false,
      });
      expect(deadline(body, 'decisionTarget')).toMatchObject({ status: 'paused', paused: true, businessDaysLeft: 10, atRisk: false });
    });

    it('is at risk with one business day left, and overdue once past its due instant (before the scheduler fires it)', async () => {
      const id = await h.claimIn('submitted');
      t.clock.set(new Date('2026-03-06T17:00:00.000Z')); // Friday: reviewStart is due Monday 9 March
      const friday = (await h.getClaim(id, 'partner')).body;
      expect(deadline(friday, 'reviewStart')).toMatchObject({ businessDaysLeft: 1, atRisk: true, overdue: false });
      t.clock.set(new Date('2026-03-10T08:00:00.000Z'));
      const late = (await h.getClaim(id, 'partner')).body;
      expect(deadline(late, 'reviewStart')).toMatchObject({ businessDaysLeft: 0, hoursLeft: 0, atRisk: false, overdue: true });
    });

    it('counts a calendar-day deadline (the consent window) in calendar days and names the unit', async () => {
      const id = await h.claimIn('approved.consentPending'); // approved on Monday 2 March: 7 days to Monday 9 March
      const { body } = await h.getClaim(id, 'partner');
      expect(deadline(body, 'consentWindow')).toMatchObject({ due: '2026-03-09', unit: 'days', daysLeft: 7, businessDaysLeft: 5 });
      expect(deadline(body, 'decisionTarget')).toMatchObject({ unit: 'businessDays' });
    });

    it('lists each claim with its deadlines and status texts', async () => {
      await h.claimIn('submitted');
      const res = await h.api().get('/v1/claims').set('Authorization', await h.auth('partner')).expect(200);
      expect(res.body.items[0].statusText.title).toBe('Submitted');
      expect(deadline(res.body.items[0], 'reviewStart')).toMatchObject({ unit: 'businessDays', daysLeft: 5, businessDaysLeft: 5, paused: false });
      expect(res.body.items[0].actions).toBeUndefined();
    });
  });

  describe("a claim's status texts come from the policy, in the caller's language", () => {
    it('answers English by default and German for Accept-Language: de', async () => {
      const id = await h.claimIn('partnerActionRequired');
      const en = (await h.getClaim(id, 'partner')).body.statusText;
      expect(en.title).toBe('Partner action required');
      expect(en.next).toContain('five business days');
      const de = await h.api().get(`/v1/claims/${id}`).set('Authorization', await h.auth('partner')).set('Accept-Language', 'fr, de;q=0.8, en;q=0.5').expect(200);
      expect(de.body.statusText.title).toBe('Aktion des Partners erforderlich');
      expect(de.headers.vary).toContain('Accept-Language');
    });

    it('gives a substatus its own texts: approved in the consent window', async () => {
      const id = await h.claimIn('approved.consentPending');
      expect((await h.getClaim(id, 'partner')).body.statusText.title).toBe('Approved (consent period)');
    });
  });

  describe("the caller's actions and editable fields now", () => {
    it('a partner whose claim waits on it may resubmit, edit the policy fields and withdraw, but not approve', async () => {
      const id = await h.claimIn('partnerActionRequired');
      const { body } = await h.getClaim(id, 'partner');
      expect(action(body, 'resubmit')).toEqual({ event: 'resubmit', allowed: true });
      expect(action(body, 'withdraw')).toEqual({ event: 'withdraw', allowed: true });
      expect(action(body, 'approve')).toMatchObject({ allowed: false, code: 'forbiddenRole' });
      expect(action(body, 'approve')!.reason).toMatch(/may not approve/);
      expect(body.editableFields).toEqual(['mpnId', 'products', 'customerContact', 'partnerContact']);
    });

    it('a reviewer of the same claim may reject or comment, not approve from this state, and edits nothing', async () => {
      const id = await h.claimIn('partnerActionRequired');
      const { body } = await h.getClaim(id, 'reviewer');
      expect(action(body, 'reject')!.allowed).toBe(true);
      expect(action(body, 'comment')!.allowed).toBe(true);
      expect(action(body, 'approve')).toMatchObject({ allowed: false, code: 'invalidState' });
      expect(body.editableFields).toEqual([]);
    });

    it('submit without a PoE is refused with the requirement the policy words, and the live deficiencies carry descriptions', async () => {
      const { id } = await h.createClaim();
      const { body } = await h.getClaim(id, 'partner');
      expect(action(body, 'submit')).toMatchObject({ allowed: false, code: 'requirementsNotMet' });
      expect(action(body, 'submit')!.reason).toContain('Upload at least one proof-of-execution document');
      expect(action(body, 'removePoe')).toMatchObject({ allowed: false, code: 'unknownPoe' });
      expect(body.deficiencies).toEqual([{ code: 'missingAllPoe', description: expect.stringContaining('PoE is missing') }]);
    });

    it('the customer of the tenant may deny consent during the consent window', async () => {
      const id = await h.claimIn('approved.consentPending');
      const { body } = await h.getClaim(id, 'customer');
      expect(action(body, 'denyConsent')).toEqual({ event: 'denyConsent', allowed: true });
      expect(action(body, 'dispute')!.allowed).toBe(false);
    });
  });

  describe('the dispute window of a rejected claim', () => {
    it('is open for 30 days after the rejection, then closed, and dispute says why', async () => {
      const id = await h.claimIn('rejected');
      const open = (await h.getClaim(id, 'partner')).body;
      expect(open.disputeWindow).toEqual({ open: true, daysLeft: 30 });
      expect(action(open, 'dispute')!.allowed).toBe(true);
      t.clock.set(new Date('2026-04-02T08:00:00.000Z')); // past 1 April, the window's last day, not yet fired
      const closed = (await h.getClaim(id, 'partner')).body;
      expect(closed.disputeWindow).toEqual({ open: false, daysLeft: 0 });
      expect(action(closed, 'dispute')).toMatchObject({ allowed: false, code: 'windowClosed' });
    });

    it('is absent while the claim is not rejected', async () => {
      const id = await h.claimIn('submitted');
      expect((await h.getClaim(id, 'partner')).body.disputeWindow).toBeUndefined();
    });
  });

  describe('GET /v1/policies/current', () => {
    it('gives any signed-in role the policy in effect as people see it, status texts in their language', async () => {
      const en = await h.api().get('/v1/policies/current').set('Authorization', await h.auth('customer')).expect(200);
      expect(en.body).toMatchObject({ id: 'cpor', version: '2026.1', effectiveAt: '2026-01-01T00:00:00Z', timeZone: 'America/Los_Angeles' });
      expect(en.body.roles).toContainEqual(expect.objectContaining({ name: 'billingAdmin', kind: 'partner' }));
      expect(en.body.statuses.find((s: { status: string }) => s.status === 'underReview')).toMatchObject({
        title: 'Under review',
        meaning: expect.stringContaining('The review process SLA is five business days'),
      });
      expect(en.body.rejectionReasons).toContainEqual(expect.objectContaining({ code: 'insufficientPoe', roles: ['reviewer'] }));
      expect(en.body.deficiencyCodes.map((d: { code: string }) => d.code)).toContain('missingOrOldDates');
      expect(en.body.productLines).toContainEqual(expect.objectContaining({ line: 'microsoft365', workloads: expect.arrayContaining(['teams']) }));
      expect(en.body.disputeFields.map((f: { field: string }) => f.field)).toEqual(['mpnId', 'program', 'claimId', 'products', 'tenantId', 'details']);
      const de = await h.api().get('/v1/policies/current').set('Authorization', await h.auth('partner')).set('Accept-Language', 'de-DE').expect(200);
      expect(de.body.statuses.find((s: { status: string }) => s.status === 'rejected').title).toBe('Abgelehnt');
      expect(de.body.disputeFields[5].label).toBe('Details des Problems');
    });

    it('answers without a token (the sign-in page lists its roles)', async () => {
      const res = await h.api().get('/v1/policies/current').expect(200);
      expect(res.body.roles.map((r: { name: string }) => r.name)).toContain('reviewer');
    });
  });

  describe('a claim pinned to a policy version the service no longer has', () => {
    it('is still shown (texts and clocks under the version in effect), without actions', async () => {
      const v1 = await compiledBundledPolicy();
      let active: PolicySource = staticPolicySource(v1);
      const source: PolicySource = { current: (at, id) => active.current(at, id), get: (ref) => active.get(ref), list: () => active.list() };
      const app = await createTestApp({ database: db, policies: source });
      try {
        const helpers = httpHelpers(app);
        const id = await helpers.claimIn('submitted');
        active = staticPolicySource(compilePolicy(withPolicy(v1.policy, (draft) => void (draft.version = '2026.9'))));
        const { body } = await helpers.getClaim(id, 'partner');
        expect(body.policy.version).toBe('2026.1');
        expect(body.statusText.title).toBe('Submitted');
        expect(body.actions).toBeUndefined();
        await helpers.api().get('/v1/claims').set('Authorization', await helpers.auth('partner')).expect(200);
      } finally {
        await app.close();
      }
    });
  });
});
