/**
 * The decision log and conflicts through the HTTP API, on SQLite and PostgreSQL: every transition,
 * refusal and deadline firing is logged per claim; overlapping claims of two partners
 * are flagged on both, to reviewers and program managers only.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestInput } from '../../src/claims/decision-digest';
import { poeFormFields } from '../support/factories';
import { httpHelpers, OTHER_PARTNER_ID, TENANT_ID, type CallerName } from '../support/http-requests';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/test-app';

let t: TestApp;
let h: ReturnType<typeof httpHelpers>;

const OTHER = { partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID };

/** A claim created, documented (PoE signed on `signedOn`) and submitted by `caller`. */
const submitted = (caller: 'partner' | 'otherPartner', signedOn: string, overrides: object = {}) =>
  h.claimIn('submitted', { ...(caller === 'otherPartner' ? OTHER : {}), ...overrides }, { partner: caller, poeFields: poeFormFields({ signedOn }) });

async function read(id: string, caller: CallerName) {
  return (await h.getClaim(id, caller)).body as Record<string, unknown>;
}

async function decisions(id: string, caller: CallerName = 'reviewer', query = '') {
  const res = await h.api().get(`/v1/claims/${id}/decisions${query}`).set('Authorization', await h.auth(caller));
  return res;
}

async function listed(query: string, caller: CallerName = 'reviewer') {
  const res = await h.api().get(`/v1/claims?${query}`).set('Authorization', await h.auth(caller));
  return res;
}

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  beforeEach(async () => {
    t = await createTestApp({ database: db });
    h = httpHelpers(t);
  });
  afterEach(() => t.close());

  describe('conflicts between two partners’ claims', () => {
    it('two partners claiming Teams on one tenant: both claims show the conflict to a reviewer, with the same claim to keep', async () => {
      const ours = await submitted('partner', '2026-02-20');
      const theirs = await submitted('otherPartner', '2026-03-01');

      const fromOurs = await read(ours, 'reviewer');
      expect(fromOurs.conflicts).toEqual([
        { claimId: theirs, partnerId: OTHER_PARTNER_ID, status: 'submitted', products: ['teams'], newestValidPoe: '2026-03-01' },
      ]);
      expect(fromOurs.settlement).toEqual({ method: 'mostRecentValidPoe', keep: theirs, explanation: expect.stringContaining('2026-03-01') });
      const fromTheirs = await read(theirs, 'reviewer');
      expect(fromTheirs.conflicts).toEqual([
        { claimId: ours, partnerId: '4512345', status: 'submitted', products: ['teams'], newestValidPoe: '2026-02-20' },
      ]);
      expect(fromTheirs.settlement).toMatchObject({ keep: theirs });
      expect(await read(ours, 'programManager')).toMatchObject({ conflicts: fromOurs.conflicts, settlement: fromOurs.settlement });
    });

    it('a partner, or the customer, sees no conflicts field: they must not learn of another partner’s claim', async () => {
      const ours = await submitted('partner', '2026-02-20');
      const theirs = await submitted('otherPartner', '2026-03-01');
      for (const [id, caller] of [[ours, 'partner'], [theirs, 'otherPartner'], [ours, 'customer']] as const) {
        const body = await read(id, caller);
        expect(body).not.toHaveProperty('conflicts');
        expect(body).not.toHaveProperty('settlement');
      }
    });

    it('the conflict changes no claim: both stay submitted, at their version', async () => {
      const ours = await submitted('partner', '2026-02-20');
      await submitted('otherPartner', '2026-03-01');
      expect(await read(ours, 'reviewer')).toMatchObject({ status: 'submitted', version: 3 });
    });

    it('withdrawing one claim removes the flag from both', async () => {
      const ours = await submitted('partner', '2026-02-20');
      const theirs = await submitted('otherPartner', '2026-03-01');
      await h.actOk(theirs, 'withdraw', 'otherPartner');
      expect(await read(ours, 'reviewer')).toMatchObject({ conflicts: [], settlement: null });
      expect(await read(theirs, 'reviewer')).toMatchObject({ conflicts: [], settlement: null });
    });

    it('a tie on the newest valid PoE names no claim to keep', async () => {
      const ours = await submitted('partner', '2026-02-20');
      await submitted('otherPartner', '2026-02-20');
      expect((await read(ours, 'reviewer')).settlement).toMatchObject({ keep: null, explanation: expect.stringMatching(/tie/) });
    });

    it('claims on another tenant, or of a draft, do not conflict', async () => {
      const ours = await submitted('partner', '2026-02-20');
      await submitted('otherPartner', '2026-03-01', { customer: { tenantId: '0b7e9c2a-3d4f-4e5a-8b6c-7d8e9f0a1b2c', domain: 'tailspin.com', name: 'Tailspin' } });
      await h.createClaim(OTHER, 'otherPartner');
      expect(await read(ours, 'reviewer')).toMatchObject({ conflicts: [], settlement: null });
    });

    it('GET /v1/claims?conflicted=true lists the claims in a conflict to reviewers; partners are refused', async () => {
      const ours = await submitted('partner', '2026-02-20');
      const alone = await submitted('partner', '2026-02-20', { products: [{ line: 'microsoft365', workload: 'intune' }] });
      const theirs = await submitted('otherPartner', '2026-03-01');
      const ids = (res: { body: { items: Array<{ id: string }> } }) => res.body.items.map((c) => c.id);

      // Claims created at one instant list in id order (random ids): compare as sets, page by the listed order.
      const conflicted = await listed('conflicted=true');
      expect(conflicted.status).toBe(200);
      expect(ids(conflicted).sort()).toEqual([ours, theirs].sort());
      expect(ids(await listed('conflicted=false'))).toEqual([alone]);
      expect(ids(await listed(`conflicted=true&partnerId=${OTHER_PARTNER_ID}`, 'programManager'))).toEqual([theirs]);
      const paged = await listed('conflicted=true&limit=1');
      expect(ids(paged)).toEqual(ids(conflicted).slice(0, 1));
      expect(ids(await listed(`conflicted=true&cursor=${encodeURIComponent(paged.body.nextCursor as string)}`))).toEqual(ids(conflicted).slice(1));

      const refused = await listed('conflicted=true', 'partner');
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('forbiddenRole');
      expect((await listed('conflicted=maybe')).status).toBe(400);

      await h.actOk(ours, 'withdraw', 'partner');
      expect(ids(await listed('conflicted=true'))).toEqual([]);
    });
  });

  describe('the decision log of a claim', () => {
    it('records applied, refused and deadline-fired transitions with the policy version, digests and the rules that fired', async () => {
      const id = await submitted('partner', '2026-02-20');
      const refused = await h.act(id, 'approve', 'partner');
      expect(refused.status).toBe(403);
      await h.actOk(id, 'startReview', 'reviewer');
      await h.actOk(id, 'requestInfo', 'reviewer', { deficiencies: ['missingPartnerSolution'], comment: 'Describe the work' });
      // partnerResponse: 5 business days after Mon 2 March → due Mon 9 March, falls due 00:00 PDT 10 March.
      await t.advance('2026-03-10T08:00:00.000Z');

      const res = await decisions(id);
      expect(res.status).toBe(200);
      const items = res.body.items as Array<Record<string, unknown>>;
      expect(items.map((d) => d.result)).toEqual([
        { event: 'create', from: null, to: 'editing' },
        { event: 'uploadPoe', from: 'editing', to: 'editing' },
        { event: 'submit', from: 'editing', to: 'submitted' },
        { event: 'approve', from: 'submitted', to: 'submitted', refused: { code: 'forbiddenRole' } },
        { event: 'startReview', from: 'submitted', to: 'underReview' },
        { event: 'requestInfo', from: 'underReview', to: 'partnerActionRequired' },
        { event: 'partnerResponseDue', from: 'partnerActionRequired', to: 'rejected' },
      ]);
      for (const item of items) {
        expect(item).toMatchObject({ claimId: id, kind: 'transition', policy: { id: 'cpor', version: '2026.1' } });
        expect(item.inputDigest).toMatch(/^[0-9a-f]{64}$/);
      }
      expect(items.at(-1)).toMatchObject({ at: '2026-03-10T07:00:00.000Z' });
      expect(items[2]!.rulesFired).toEqual(['requirement:poeRequired', 'requirement:productsRequired']);
      expect(items[3]!.rulesFired).toEqual([]);

      // The digest is of the event, the role, the payload, and the version and chain head the event met.
      const history = (await h.api().get(`/v1/claims/${id}/history`).set('Authorization', await h.auth('reviewer'))).body.items as Array<{ hash: string }>;
      expect(items[3]!.inputDigest).toBe(digestInput({ event: 'approve', actor: { role: 'incentivesAdmin' }, payload: {}, claimVersion: 3, lastHash: history[2]!.hash }));
      expect(items[4]!.inputDigest).toBe(digestInput({ event: 'startReview', actor: { role: 'reviewer' }, payload: {}, claimVersion: 3, lastHash: history[2]!.hash }));
      expect(new Set(items.map((d) => d.inputDigest)).size).toBe(items.length);

      expect((await decisions(id, 'reviewer', '?limit=2')).body.items).toEqual(items.slice(0, 2));
      expect((await decisions(id, 'reviewer', '?limit=0')).status).toBe(400);
    });

    it('the same input gives the same digest: a refusal repeated, and the same claim created twice', async () => {
      const first = await h.createClaim();
      const second = await h.createClaim();
      await h.act(first.id, 'startReview', 'partner');
      await h.act(first.id, 'startReview', 'partner');
      const [created, refusedOnce, refusedTwice] = (await decisions(first.id)).body.items as Array<{ inputDigest: string; result: unknown }>;
      const [createdAgain] = (await decisions(second.id)).body.items as Array<{ inputDigest: string }>;
      expect(refusedOnce!.result).toEqual({ event: 'startReview', from: 'editing', to: 'editing', refused: { code: 'forbiddenRole' } });
      expect(refusedTwice!.inputDigest).toBe(refusedOnce!.inputDigest);
      expect(createdAgain!.inputDigest).toBe(created!.inputDigest);
    });

    it('a refusal is logged in the same transaction as the deadlines that fell due before it', async () => {
      const id = await submitted('partner', '2026-02-20');
      t.clock.set(new Date('2026-03-10T08:00:00.000Z')); // reviewStart is due; the scheduler has not run
      const refused = await h.act(id, 'resubmit', 'partner');
      expect(refused.status).toBe(409);
      const items = (await decisions(id)).body.items as Array<{ result: { event: string; refused?: unknown }; at: string }>;
      expect(items.slice(-2).map((d) => [d.result.event, d.at, d.result.refused ?? null])).toEqual([
        ['reviewStartDue', '2026-03-10T07:00:00.000Z', null],
        ['resubmit', '2026-03-10T08:00:00.000Z', { code: 'invalidState' }],
      ]);
      expect(await read(id, 'partner')).toMatchObject({ status: 'submitted', overdue: ['reviewStart'], version: 4 });
    });

    it.each([
      ['reviewer', 200],
      ['programManager', 200],
      ['partner', 200],
      ['customer', 200],
      ['otherPartner', 404],
      ['otherCustomer', 404],
    ] as const)('is visible like the claim: %s gets %i', async (caller, status) => {
      const { id } = await h.createClaim();
      const res = await decisions(id, caller);
      expect(res.status).toBe(status);
      if (status === 404) expect(res.body.code).toBe('claimNotFound');
      else expect(res.body.items).toHaveLength(1);
    });

    it('a customer of the tenant reads the same log as the partner', async () => {
      const { id } = await h.createClaim({ customer: { tenantId: TENANT_ID, domain: 'contoso.com', name: 'Contoso' } });
      expect((await decisions(id, 'customer')).body).toEqual((await decisions(id, 'partner')).body);
    });
  });
});
