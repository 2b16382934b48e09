/**
 * The claim and idempotency stores behave the same on every database: the in-memory
 * reference, SQLite and PostgreSQL. Records come from the real claim service.
 */
import type { Knex } from 'knex';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord, HistoryEntry } from '../../src/claims/claim-record';
import type { ClaimStore } from '../../src/claims/claim-store';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { ConflictError } from '../../src/domain/errors';
import { createDatabase, migrateDown, migrateLatest, migrationStatus } from '../../src/db/database';
import type { Actor, ClaimFields, StateId } from '../../src/domain/claim-types';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { DATABASES, useDatabase, type StoreSetup } from '../support/databases';
import { ACTORS, claimFields, claimIn, poePayload } from '../support/factories';

const PARTNER: Actor = ACTORS.partner;
const REVIEWER: Actor = ACTORS.reviewer;
const POE = poePayload();
const FILE = { sha256: 'a'.repeat(64), size: 12_345, contentType: 'application/pdf' };
const OTHER_TENANT = '0b5f2c1e-7d2a-4c1b-9e3f-2a6d8c4b1f07';
const TABLES = [
  'claims',
  'claim_history',
  'claim_deadlines',
  'claim_overdue',
  'poe_documents',
  'poe_files',
  'disputes',
  'comments',
  'outbox',
  'idempotency_keys',
];
/** Tables of migration 002. */
const DECISION_CONFLICT_TABLES = ['decisions', 'claim_products'];
const MIGRATIONS = ['20261124_001_initial', '20261124_002_decisions_conflicts', '20261130_003_tenant_keys', '20261130_004_decision_authors', '20261130_005_idempotency_leases', '20261130_006_work_sharing', '20261130_007_claim_search', '20261130_008_conflict_marker', '20261130_009_shadow_decisions', '20261130_010_overdue_marker'];

/** Undoes migrations, newest first, through `name`; returns the names undone. */
async function undoThrough(knex: Knex, name: string): Promise<string[]> {
  const undone: string[] = [];
  while (!undone.includes(name)) {
    const step = await migrateDown(knex);
    if (step.length === 0) throw new Error(`${name} is not applied`);
    undone.push(...step);
  }
  return undone;
}
const ACTIVE: StateId[] = ['submitted', 'underReview', 'partnerActionRequired', 'approved'];

let policy: CompiledPolicy;
beforeAll(async () => {
  policy = await compiledBundledPolicy();
});

/** The claim service on a store, with a virtual clock (Monday 2026-03-02 09:00 PST by default). */
function serviceOn(store: ClaimStore, start = '2026-03-02T17:00:00.000Z') {
  const clock = createVirtualClock(new Date(start));
  const service = createClaimService({ store, policy, clock, ids: createSequentialIds() });
  return { service, at: (instant: string) => clock.set(new Date(instant)) };
}

type Service = ReturnType<typeof serviceOn>['service'];

const partnerOf = (fields: ClaimFields): Actor => ({ ...PARTNER, partnerId: fields.partnerId });

const submittedClaim = (service: Service, fields = claimFields()): Promise<ClaimRecord> =>
  claimIn(service, 'submitted', { fields, actors: { partner: partnerOf(fields) }, upload: { file: FILE } });

/** A claim created, and two different successors of it, each a real service step (comment A, comment B). */
async function forkedClaim() {
  const fork = async (text: string) => {
    const { service, at } = serviceOn(createMemoryClaimStore());
    const created = await service.create(PARTNER, claimFields());
    at('2026-03-02T18:00:00.000Z');
    const next = await service.act(created.claim.id, 'comment', PARTNER, { text });
    return { created, next };
  };
  const a = await fork('from A');
  const b = await fork('from B');
  expect(a.created.claim).toEqual(b.created.claim);
  return { created: a.created, a: a.next, b: b.next };
}

/** Stores the creation of a claim as the service does. */
async function storeCreated(store: ClaimStore, created: { claim: ClaimRecord; entries: HistoryEntry[] }) {
  await store.transaction(async (tx) => {
    await tx.insertClaim(created.claim);
    await tx.appendHistory(created.entries);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectConflict(result: PromiseSettledResult<unknown>, code: string) {
  expect(result.status).toBe('rejected');
  const reason = (result as PromiseRejectedResult).reason as unknown;
  expect(reason).toBeInstanceOf(ConflictError);
  expect((reason as ConflictError).code).toBe(code);
}

/** Two Business Applications products on one subscription, SUB-A1 (codes are lower-cased). */
const BA_PRODUCTS: ClaimFields['products'] = [
  { line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'SUB-A1' },
  { line: 'businessApplications', product: 'powerBI', subscriptionId: 'SUB-A1' },
];
const OTHER_PARTNER: Actor = ACTORS.otherPartner;
const otherPartnerFields = (overrides: Partial<ClaimFields> = {}) => claimFields({ partnerId: '4599999', mpnId: '4599999', ...overrides });

describe.each(DATABASES)('$name stores', (db) => {
  useDatabase(db);
  let ctx: StoreSetup;
  beforeEach(async () => {
    ctx = await db.setup();
  });
  afterEach(async () => {
    await ctx.teardown();
  });

  describe('claims', () => {
    it('a claim the service creates and changes reads back as saved, with its history', async () => {
      const { service, at } = serviceOn(ctx.store);
      const created = await service.create(PARTNER, claimFields());
      expect(await ctx.store.getClaim(created.claim.id)).toEqual(created.claim);
      at('2026-03-02T17:05:00.000Z');
      const uploaded = await service.act(created.claim.id, 'uploadPoe', PARTNER, POE, { file: FILE });
      expect(uploaded.claim.version).toBe(2);
      expect(await ctx.store.getClaim(created.claim.id)).toEqual(uploaded.claim);
      expect(await ctx.store.listHistory(created.claim.id)).toEqual([...created.entries, ...uploaded.entries]);
    });

    it('getClaim and listHistory of an unknown claim are undefined and empty', async () => {
      expect(await ctx.store.getClaim('claim-404')).toBeUndefined();
      expect(await ctx.store.listHistory('claim-404')).toEqual([]);
    });

    it('insertClaim of an id that exists is refused with claimExists and the transaction writes nothing', async () => {
      const { created, a } = await forkedClaim();
      await storeCreated(ctx.store, created);
      const again = ctx.store.transaction(async (tx) => {
        await tx.appendHistory(a.entries);
        await tx.insertClaim({ ...created.claim, updatedAt: '2026-03-03T00:00:00.000Z' });
      });
      expectConflict((await Promise.allSettled([again]))[0]!, 'claimExists');
      expect(await ctx.store.getClaim(created.claim.id)).toEqual(created.claim);
      expect(await ctx.store.listHistory(created.claim.id)).toEqual(created.entries);
    });

    it('updateClaim writes the record when the stored version is the expected one', async () => {
      const { created, a } = await forkedClaim();
      await storeCreated(ctx.store, created);
      await ctx.store.transaction(async (tx) => {
        await tx.updateClaim(a.claim, 1);
        await tx.appendHistory(a.entries);
      });
      expect(await ctx.store.getClaim(created.claim.id)).toEqual(a.claim);
      expect((await ctx.store.listHistory(created.claim.id)).map((e) => e.seq)).toEqual([1, 2]);
    });

    it('updateClaim with a stale expected version is refused with versionConflict and changes nothing', async () => {
      const { created, a, b } = await forkedClaim();
      await storeCreated(ctx.store, created);
      await ctx.store.transaction((tx) => tx.updateClaim(a.claim, 1));
      const stale = ctx.store.transaction((tx) => tx.updateClaim({ ...b.claim, version: 3 }, 1));
      expectConflict((await Promise.allSettled([stale]))[0]!, 'versionConflict');
      const missing = ctx.store.transaction((tx) => tx.updateClaim({ ...b.claim, id: 'claim-404' }, 1));
      expectConflict((await Promise.allSettled([missing]))[0]!, 'versionConflict');
      expect(await ctx.store.getClaim(created.claim.id)).toEqual(a.claim);
    });

    it('a transaction reads its own writes before it commits', async () => {
      const { created, a } = await forkedClaim();
      await ctx.store.transaction(async (tx) => {
        await tx.insertClaim(created.claim);
        await tx.appendHistory(created.entries);
        expect(await tx.getClaim(created.claim.id)).toEqual(created.claim);
        await tx.updateClaim(a.claim, 1);
        await tx.appendHistory(a.entries);
        expect(await tx.getClaim(created.claim.id)).toEqual(a.claim);
        expect(await tx.listHistory(created.claim.id)).toEqual([...created.entries, ...a.entries]);
      });
    });

    it('a transaction that throws leaves no claim, history or outbox message behind', async () => {
      const { created } = await forkedClaim();
      const failing = ctx.store.transaction(async (tx) => {
        await tx.insertClaim(created.claim);
        await tx.appendHistory(created.entries);
        await tx.appendOutbox([
          { id: `${created.claim.id}:1`, claimId: created.claim.id, type: 'claim.rejected', at: created.claim.createdAt, audience: 'partner', payload: {} },
        ]);
        throw new Error('boom');
      });
      await expect(failing).rejects.toThrow('boom');
      expect(await ctx.store.getClaim(created.claim.id)).toBeUndefined();
      expect(await ctx.store.listHistory(created.claim.id)).toEqual([]);
      expect(await ctx.store.listOutbox({ limit: 10 })).toEqual([]);
      expect(await ctx.store.allClaimIds()).toEqual([]);
    });

    it('a transaction that throws after an update leaves the claim, history, comments and outbox as they were', async () => {
      const { service, at } = serviceOn(ctx.store);
      const claim = await submittedClaim(service);
      at('2026-03-03T17:00:00.000Z');
      await service.act(claim.id, 'startReview', REVIEWER, {});
      const before = {
        claim: await ctx.store.getClaim(claim.id),
        history: await ctx.store.listHistory(claim.id),
        comments: await ctx.store.listComments(claim.id),
        outbox: await ctx.store.listOutbox({ limit: 10 }),
      };
      // What requestInfo would write (history, a comment, an outbox message), computed on a copy.
      const copy = createMemoryClaimStore();
      await copy.transaction(async (tx) => {
        await tx.insertClaim(before.claim!);
        await tx.appendHistory(before.history);
      });
      const { service: onCopy, at: atCopy } = serviceOn(copy);
      atCopy('2026-03-04T17:00:00.000Z');
      const next = await onCopy.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Add the signature page' });
      const [message] = await copy.listOutbox({ limit: 10 });
      expect(message).toBeDefined();

      const failing = ctx.store.transaction(async (tx) => {
        await tx.updateClaim(next.claim, before.claim!.version);
        await tx.appendHistory(next.entries);
        await tx.appendOutbox([message!]);
        throw new Error('boom');
      });
      await expect(failing).rejects.toThrow('boom');
      expect(await ctx.store.getClaim(claim.id)).toEqual(before.claim);
      expect(await ctx.store.listHistory(claim.id)).toEqual(before.history);
      expect(await ctx.store.listComments(claim.id)).toEqual(before.comments);
      expect(await ctx.store.listOutbox({ limit: 10 })).toEqual(before.outbox);
      expect(await ctx.store.listClaims({ status: 'partnerActionRequired', limit: 10 })).toEqual([]);
    });

    it('history lists a claim’s entries in seq order, each chained to the one before', async () => {
      const { service, at } = serviceOn(ctx.store);
      const claim = await submittedClaim(service);
      await service.act(claim.id, 'comment', PARTNER, { text: 'Ready for review' });
      at('2026-03-03T17:00:00.000Z');
      await service.act(claim.id, 'startReview', REVIEWER, {});
      const other = await service.create(PARTNER, claimFields());
      const history = await ctx.store.listHistory(claim.id);
      expect(history.map((e) => [e.seq, e.event])).toEqual([
        [1, 'create'],
        [2, 'uploadPoe'],
        [3, 'submit'],
        [4, 'comment'],
        [5, 'startReview'],
      ]);
      expect(history.every((e) => e.claimId === claim.id)).toBe(true);
      expect(history.slice(1).map((e) => e.prevHash)).toEqual(history.slice(0, -1).map((e) => e.hash));
      expect((await ctx.store.getClaim(claim.id))?.lastHash).toBe(history.at(-1)?.hash);
      expect(await ctx.store.listHistory(other.claim.id)).toEqual(other.entries);
    });

    it('comments are the texts of comment events and the comments other events carry, oldest first', async () => {
      const { service, at } = serviceOn(ctx.store);
      const claim = await submittedClaim(service);
      await service.act(claim.id, 'comment', PARTNER, { text: 'Ready for review' });
      at('2026-03-03T17:00:00.000Z');
      await service.act(claim.id, 'startReview', REVIEWER, {});
      at('2026-03-04T17:00:00.000Z');
      await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Add the signature page' });
      expect(await ctx.store.listComments(claim.id)).toEqual([
        { claimId: claim.id, seq: 4, at: '2026-03-02T17:00:00.000Z', event: 'comment', author: { role: 'incentivesAdmin', id: 'li@fabrikam.com' }, text: 'Ready for review' },
        { claimId: claim.id, seq: 6, at: '2026-03-04T17:00:00.000Z', event: 'requestInfo', author: { role: 'reviewer', id: 'rev-1' }, text: 'Add the signature page' },
      ]);
      expect(await ctx.store.listComments('claim-404')).toEqual([]);
    });

    it('takeDueClaim takes the claim due first at or before the instant, then by creation, leaving out those skipped', async () => {
      const { service, at } = serviceOn(ctx.store);
      // Submitted on Wednesday, Monday and Tuesday: reviewStart falls due in that order of days, Mon < Tue < Wed.
      at('2026-03-04T17:00:00.000Z');
      const wednesday = await submittedClaim(service);
      at('2026-03-02T17:00:00.000Z');
      const monday = await submittedClaim(service);
      at('2026-03-02T18:00:00.000Z');
      const mondayLater = await submittedClaim(service); // due with monday, created after it
      at('2026-03-03T17:00:00.000Z');
      const tuesday = await submittedClaim(service);
      await service.create(PARTNER, claimFields()); // editing: no running deadline
      expect([monday, mondayLater, tuesday, wednesday].map((c) => c.nextDueAt)).toEqual([
        '2026-03-10T07:00:00.000Z',
        '2026-03-10T07:00:00.000Z',
        '2026-03-11T07:00:00.000Z',
        '2026-03-12T07:00:00.000Z',
      ]);
      const take = async (until: string, skip: string[] = []) => (await ctx.store.transaction((tx) => tx.takeDueClaim(until, new Set(skip))))?.id;
      expect(await take('2026-03-10T06:59:59.999Z')).toBeUndefined();
      expect(await take('2026-03-10T07:00:00.000Z')).toBe(monday.id);
      expect(await take('2026-03-10T07:00:00.000Z', [monday.id])).toBe(mondayLater.id);
      expect(await take('2026-03-10T07:00:00.000Z', [monday.id, mondayLater.id])).toBeUndefined();
      expect(await take('2026-03-11T07:00:00Z', [monday.id, mondayLater.id])).toBe(tuesday.id);
      expect(await take('2026-04-01T00:00:00.000Z', [monday.id, mondayLater.id, tuesday.id])).toBe(wednesday.id);
      expect(await take('2026-04-01T00:00:00.000Z', [monday.id, mondayLater.id, tuesday.id, wednesday.id])).toBeUndefined();
    });

    it('listClaims filters by status, tenant, partner and the deadline a claim is overdue on', async () => {
      const { service, at } = serviceOn(ctx.store);
      const other = claimFields({
        partnerId: '4599999',
        mpnId: '4599999',
        customer: { tenantId: OTHER_TENANT, domain: 'fabrikam.com', name: 'Fabrikam' },
      });
      const submitted = await submittedClaim(service); // overdue on reviewStart once it is fired
      const editing = (await service.create(PARTNER, claimFields())).claim;
      const elsewhere = await submittedClaim(service, other);
      at('2026-03-03T17:00:00.000Z');
      await service.act(elsewhere.id, 'startReview', REVIEWER, {});
      // reviewStart of `submitted` fell due on 2026-03-10, reviewDecision of `elsewhere` on 2026-03-11 (07:00Z).
      at('2026-03-12T00:00:00.000Z');
      await service.fireDue();

      const ids = async (filter: Parameters<ClaimStore['listClaims']>[0]) => (await ctx.store.listClaims(filter)).map((c) => c.id);
      expect(await ids({ limit: 10 })).toEqual([submitted.id, editing.id, elsewhere.id]);
      expect(await ids({ status: 'submitted', limit: 10 })).toEqual([submitted.id]);
      expect(await ids({ status: 'editing', limit: 10 })).toEqual([editing.id]);
      expect(await ids({ status: 'rejected', limit: 10 })).toEqual([]);
      expect(await ids({ tenantId: OTHER_TENANT, limit: 10 })).toEqual([elsewhere.id]);
      expect(await ids({ partnerId: '4512345', limit: 10 })).toEqual([submitted.id, editing.id]);
      expect(await ids({ overdue: 'reviewStart', limit: 10 })).toEqual([submitted.id]);
      expect(await ids({ overdue: 'reviewDecision', limit: 10 })).toEqual([elsewhere.id]);
      expect(await ids({ overdue: 'reviewStart', partnerId: '4599999', limit: 10 })).toEqual([]);
      expect(await ids({ status: 'underReview', tenantId: OTHER_TENANT, partnerId: '4599999', limit: 10 })).toEqual([elsewhere.id]);
      const [listed] = await ctx.store.listClaims({ overdue: 'reviewStart', limit: 1 });
      expect(listed).toEqual(await ctx.store.getClaim(submitted.id));
    });

    it('listClaims pages by (createdAt, id) with a keyset cursor, ties broken by id; allClaimIds has the same order', async () => {
      const { service, at } = serviceOn(ctx.store);
      const instants = ['2026-03-03T10:00:00.000Z', '2026-03-02T10:00:00.000Z', '2026-03-03T10:00:00.000Z', '2026-03-02T12:00:00.000Z'];
      const created: ClaimRecord[] = [];
      for (const instant of [...instants, ...instants]) {
        at(instant);
        created.push((await service.create(PARTNER, claimFields())).claim);
      }
      const expected = [...created]
        .sort((x, y) => (x.createdAt < y.createdAt ? -1 : x.createdAt > y.createdAt ? 1 : x.id < y.id ? -1 : 1))
        .map((c) => c.id);
      const pages: string[][] = [];
      let after: { createdAt: string; id: string } | undefined;
      for (;;) {
        const page = await ctx.store.listClaims({ limit: 3, ...(after ? { after } : {}) });
        if (page.length === 0) break;
        pages.push(page.map((c) => c.id));
        const last = page.at(-1)!;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
      expect(pages.flat()).toEqual(expected);
      expect(await ctx.store.allClaimIds()).toEqual(expected);
      const [first, second] = await ctx.store.listClaims({ limit: 2, status: 'editing', after: { createdAt: '2026-03-02T12:00:00.000Z', id: '' } });
      expect([first?.id, second?.id]).toEqual(expected.slice(2, 4));
    });
  });

  describe('outbox', () => {
    /** A claim taken to partnerActionRequired: requestInfo emits claim.informationRequested. */
    async function informationRequested() {
      const { service, at } = serviceOn(ctx.store);
      const claim = await submittedClaim(service);
      at('2026-03-03T17:00:00.000Z');
      await service.act(claim.id, 'startReview', REVIEWER, {});
      at('2026-03-04T17:00:00.000Z');
      await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Add the signature page' });
      return { service, at, claim };
    }

    it('messages written with a transition are pending from their own instant, oldest first, and a duplicate id is ignored', async () => {
      const { service, at, claim } = await informationRequested();
      at('2026-03-05T17:00:00.000Z');
      await service.act(claim.id, 'resubmit', PARTNER, {});
      at('2026-03-06T17:00:00.000Z');
      await service.act(claim.id, 'approve', REVIEWER, {});

      const pending = await ctx.store.pendingOutbox('2026-03-07T00:00:00.000Z', 10);
      expect(pending.map((m) => [m.id, m.type, m.audience, m.at])).toEqual([
        [`${claim.id}:5`, 'claim.informationRequested', 'partner', '2026-03-04T17:00:00.000Z'],
        [`${claim.id}:7`, 'claim.approved', 'customer', '2026-03-06T17:00:00.000Z'],
      ]);
      expect(pending[0]).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: '2026-03-04T17:00:00.000Z', lastError: null, deliveredAt: null });
      expect(pending[0]!.payload).toMatchObject({ claimId: claim.id, deficiencies: ['missingCustomerAcknowledgment'], comment: 'Add the signature page' });
      expect((await ctx.store.pendingOutbox('2026-03-05T00:00:00.000Z', 10)).map((m) => m.id)).toEqual([`${claim.id}:5`]);
      expect((await ctx.store.pendingOutbox('2026-03-04T16:59:59.999Z', 10)).map((m) => m.id)).toEqual([]);
      expect((await ctx.store.pendingOutbox('2026-03-07T00:00:00.000Z', 1)).map((m) => m.id)).toEqual([`${claim.id}:5`]);

      // A retried write of the same message does not duplicate it.
      const { status: _s, attempts: _a, nextAttemptAt: _n, lastError: _l, deliveredAt: _d, ...message } = pending[0]!;
      await ctx.store.transaction((tx) => tx.appendOutbox([{ ...message, payload: { changed: true } }]));
      expect(await ctx.store.listOutbox({ limit: 10 })).toEqual(pending);
    });

    it('delivery outcomes are recorded: a failed attempt waits for its retry, a delivered message is no longer pending', async () => {
      const { claim } = await informationRequested();
      const [message] = await ctx.store.pendingOutbox('2026-03-05T00:00:00.000Z', 10);
      expect(message).toBeDefined();
      await ctx.store.updateOutbox(message!.id, {
        status: 'pending',
        attempts: 1,
        nextAttemptAt: '2026-03-05T00:01:00.000Z',
        lastError: 'HTTP 503',
        deliveredAt: null,
      });
      expect(await ctx.store.pendingOutbox('2026-03-05T00:00:59.999Z', 10)).toEqual([]);
      expect(await ctx.store.pendingOutbox('2026-03-05T00:01:00.000Z', 10)).toEqual([
        { ...message, attempts: 1, nextAttemptAt: '2026-03-05T00:01:00.000Z', lastError: 'HTTP 503' },
      ]);
      await ctx.store.updateOutbox(message!.id, {
        status: 'delivered',
        attempts: 2,
        nextAttemptAt: null,
        lastError: null,
        deliveredAt: '2026-03-05T00:01:00.250Z',
      });
      await ctx.store.updateOutbox('unknown:1', { status: 'failed', attempts: 9, nextAttemptAt: null, lastError: 'x', deliveredAt: null });
      expect(await ctx.store.pendingOutbox('2026-04-01T00:00:00.000Z', 10)).toEqual([]);
      const delivered = { ...message, status: 'delivered', attempts: 2, nextAttemptAt: null, lastError: null, deliveredAt: '2026-03-05T00:01:00.250Z' };
      expect(await ctx.store.listOutbox({ status: 'delivered', limit: 10 })).toEqual([delivered]);
      expect(await ctx.store.listOutbox({ claimId: claim.id, limit: 10 })).toEqual([delivered]);
      expect(await ctx.store.listOutbox({ claimId: 'claim-404', limit: 10 })).toEqual([]);
      expect(await ctx.store.listOutbox({ status: 'pending', limit: 10 })).toEqual([]);
    });
  });

  describe('decision log', () => {
    it('the service logs every applied event, refusal and deadline firing, oldest first, with policy, digest, result and rules', async () => {
      const { service, at } = serviceOn(ctx.store);
      const claim = await submittedClaim(service);
      // reviewStart (escalate) and decisionTarget fall due before the refused approve; they are logged with it.
      at('2026-03-20T17:00:00.000Z');
      await expect(service.act(claim.id, 'approve', REVIEWER, {})).rejects.toMatchObject({ code: 'invalidState' });
      const decisions = await ctx.store.listDecisions(claim.id, 100);
      expect(decisions.map((d) => d.result)).toEqual([
        { event: 'create', from: null, to: 'editing' },
        { event: 'uploadPoe', from: 'editing', to: 'editing' },
        { event: 'submit', from: 'editing', to: 'submitted' },
        { event: 'reviewStartDue', from: 'submitted', to: 'submitted' },
        { event: 'decisionTargetDue', from: 'submitted', to: 'submitted' },
        { event: 'approve', from: 'submitted', to: 'submitted', refused: { code: 'invalidState' } },
      ]);
      expect(decisions.every((d) => d.claimId === claim.id && d.kind === 'transition')).toBe(true);
      expect(new Set(decisions.map((d) => JSON.stringify(d.policy)))).toEqual(new Set([JSON.stringify({ id: 'cpor', version: '2026.1' })]));
      expect(decisions.map((d) => d.at)).toEqual([
        '2026-03-02T17:00:00.000Z',
        '2026-03-02T17:00:00.000Z',
        '2026-03-02T17:00:00.000Z',
        '2026-03-10T07:00:00.000Z',
        '2026-03-17T07:00:00.000Z',
        '2026-03-20T17:00:00.000Z',
      ]);
      expect(decisions[2]!.rulesFired).toEqual(['requirement:poeRequired', 'requirement:productsRequired']);
      expect(decisions[0]!.rulesFired).toEqual(['deficiency:missingAllPoe']);
      expect(decisions.every((d) => /^[0-9a-f]{64}$/.test(d.inputDigest))).toBe(true);
      expect(new Set(decisions.map((d) => d.inputDigest)).size).toBe(decisions.length);
      expect(await ctx.store.listDecisions(claim.id, 2)).toEqual(decisions.slice(0, 2));
      expect(await ctx.store.listDecisions('claim-404', 10)).toEqual([]);
      // The refusal changed no claim, but the deadlines before it were saved.
      expect(await ctx.store.getClaim(claim.id)).toMatchObject({ version: 4, overdue: ['reviewStart', 'decisionTarget'] });
    });

    it('recordDecision logs a decision outside any claim change, under its claim or none', async () => {
      const record = {
        claimId: 'claim-9',
        at: '2026-03-02T17:00:00.000Z',
        kind: 'evaluation' as const,
        policy: { id: 'cpor', version: '2026.1' },
        inputDigest: 'd'.repeat(64),
        result: { status: 'editing', eligible: [] as string[], nested: { n: 1 } },
        rulesFired: ['missingAllPoe'],
      };
      await ctx.store.recordDecision(record);
      await ctx.store.recordDecision({ ...record, claimId: null, inputDigest: 'e'.repeat(64) });
      await ctx.store.recordDecision({ ...record, at: '2026-03-02T18:00:00.000Z', rulesFired: [] });
      expect(await ctx.store.listDecisions('claim-9', 10)).toEqual([record, { ...record, at: '2026-03-02T18:00:00.000Z', rulesFired: [] }]);
    });

    it('a transaction that throws leaves no decision behind', async () => {
      const { created } = await forkedClaim();
      const failing = ctx.store.transaction(async (tx) => {
        await tx.insertClaim(created.claim);
        await tx.appendDecisions([
          { claimId: created.claim.id, at: created.claim.createdAt, kind: 'transition', policy: created.claim.policy, inputDigest: 'f'.repeat(64), result: {}, rulesFired: [] },
        ]);
        throw new Error('boom');
      });
      await expect(failing).rejects.toThrow('boom');
      expect(await ctx.store.listDecisions(created.claim.id, 10)).toEqual([]);
    });
  });

  describe('overlapping claims (conflicts)', () => {
    /** Claims on one tenant: ours and another partner's on Teams, and variants that must not overlap. */
    async function claimsOnOneTenant() {
      const { service, at } = serviceOn(ctx.store);
      const ours = await submittedClaim(service);
      at('2026-03-02T18:00:00.000Z');
      const theirs = await submittedClaim(service, otherPartnerFields({ products: [{ line: 'microsoft365', workload: 'teams' }, { line: 'microsoft365', workload: 'exchange' }] }));
      const theirsDraft = (await service.create(OTHER_PARTNER, otherPartnerFields())).claim;
      const ourOther = await submittedClaim(service); // same partner: never a conflict
      const elsewhere = await submittedClaim(service, otherPartnerFields({ customer: { tenantId: OTHER_TENANT, domain: 'fabrikam.com', name: 'Fabrikam' } }));
      const otherProduct = await submittedClaim(service, otherPartnerFields({ products: [{ line: 'microsoft365', workload: 'intune' }] }));
      return { service, at, ours, theirs, theirsDraft, ourOther, elsewhere, otherProduct };
    }

    it("findOverlaps finds other partners' active claims on the same tenant sharing a product, and nothing else", async () => {
      const { service, at, ours, theirs, ourOther } = await claimsOnOneTenant();
      const ids = async (claim: ClaimRecord, states = ACTIVE) => (await ctx.store.findOverlaps(claim, states)).map((c) => c.id);
      const current = async (id: string) => (await ctx.store.getClaim(id))!;
      expect(await ids(await current(ours.id))).toEqual([theirs.id]);
      expect(await ids(await current(ourOther.id))).toEqual([theirs.id]);
      expect(await ids(await current(theirs.id))).toEqual([ours.id, ourOther.id]);
      expect(await ctx.store.findOverlaps(await current(ours.id), ACTIVE)).toEqual([await current(theirs.id)]);
      expect(await ids(await current(ours.id), ['underReview'])).toEqual([]);
      at('2026-03-03T17:00:00.000Z');
      await service.act(theirs.id, 'withdraw', OTHER_PARTNER, {});
      expect(await ids(await current(ours.id))).toEqual([]);
      expect(await ids(await current(ours.id), [...ACTIVE, 'rejected'])).toEqual([theirs.id]);
    });

    it('Business Applications claims overlap on a common product or a common subscription', async () => {
      const { service } = serviceOn(ctx.store);
      const ours = await submittedClaim(service, claimFields({ products: [BA_PRODUCTS[0]!] }));
      const sameProduct = await submittedClaim(service, otherPartnerFields({ products: [{ line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'sub-b2' }] }));
      const sameSubscription = await submittedClaim(service, otherPartnerFields({ products: [{ line: 'businessApplications', product: 'powerApps', subscriptionId: 'sub-a1' }] }));
      await submittedClaim(service, otherPartnerFields({ products: [{ line: 'businessApplications', product: 'powerApps', subscriptionId: 'sub-c3' }] }));
      expect((await ctx.store.findOverlaps(ours, ACTIVE)).map((c) => c.id)).toEqual([sameProduct.id, sameSubscription.id]);
    });

    it('listClaims filters claims in a conflict, or not in one, under the given active states', async () => {
      const { service, at, ours, theirs, theirsDraft, ourOther, elsewhere, otherProduct } = await claimsOnOneTenant();
      const ids = async (conflicted: boolean, extra: object = {}) =>
        (await ctx.store.listClaims({ conflict: { conflicted, activeStatuses: ACTIVE }, limit: 10, ...extra })).map((c) => c.id);
      expect(await ids(true)).toEqual([ours.id, theirs.id, ourOther.id]);
      expect(await ids(false)).toEqual([theirsDraft.id, elsewhere.id, otherProduct.id]);
      expect(await ids(true, { partnerId: '4599999' })).toEqual([theirs.id]);
      expect(await ids(true, { limit: 1 })).toEqual([ours.id]);
      at('2026-03-03T17:00:00.000Z');
      await service.act(theirs.id, 'withdraw', OTHER_PARTNER, {});
      expect(await ids(true)).toEqual([]);
    });
  });

  describe('idempotency keys', () => {
    const response = { status: 201, headers: { 'content-type': 'application/json', etag: '"1"' }, body: '{"id":"claim-1"}' };
    /** Begins a key that must be new; answers its lease token. */
    const claimKey = async (scope: string, key: string, hash: string, now: string) => {
      const begun = await ctx.idempotency.begin(scope, key, hash, now);
      if (begun.state !== 'new') throw new Error(`expected a new key, got ${begun.state}`);
      return begun.token;
    };

    it('a new key is claimed; the same request again is in flight until completed, then replays the response', async () => {
      const keys = ctx.idempotency;
      const token = await claimKey('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:00.000Z');
      expect(await keys.begin('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:01.000Z')).toEqual({ state: 'inFlight', retryAfterSec: 29 });
      await keys.complete({ scope: 'partner:4512345', key: 'k1', token, response });
      expect(await keys.begin('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:02.000Z')).toEqual({ state: 'done', response });
    });

    it('the same key with a different request is a mismatch, in flight or done', async () => {
      const keys = ctx.idempotency;
      const token = await claimKey('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:00.000Z');
      expect(await keys.begin('partner:4512345', 'k1', 'hash-2', '2026-03-02T17:00:01.000Z')).toEqual({ state: 'mismatch' });
      await keys.complete({ scope: 'partner:4512345', key: 'k1', token, response });
      expect(await keys.begin('partner:4512345', 'k1', 'hash-2', '2026-03-02T17:00:02.000Z')).toEqual({ state: 'mismatch' });
    });

    it('an abandoned key is free again, for any request', async () => {
      const keys = ctx.idempotency;
      const token = await claimKey('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:00.000Z');
      await keys.abandon('partner:4512345', 'k1', token);
      expect(await keys.begin('partner:4512345', 'k1', 'hash-2', '2026-03-02T17:00:01.000Z')).toMatchObject({ state: 'new' });
      await keys.abandon('partner:4512345', 'unknown', token);
    });

    it('purge forgets keys first used before the instant, done or in flight, and keeps newer ones', async () => {
      const keys = ctx.idempotency;
      const token = await claimKey('partner:4512345', 'old-done', 'hash-1', '2026-03-01T00:00:00.000Z');
      await keys.complete({ scope: 'partner:4512345', key: 'old-done', token, response });
      await keys.begin('partner:4512345', 'old-stuck', 'hash-1', '2026-03-01T00:00:01.000Z');
      await keys.begin('partner:4512345', 'new', 'hash-1', '2026-03-02T00:00:00.000Z');
      expect(await keys.purge('2026-03-02T00:00:00.000Z')).toBe(2);
      expect(await keys.begin('partner:4512345', 'old-stuck', 'hash-2', '2026-03-02T01:00:00.000Z')).toMatchObject({ state: 'new' });
      expect(await keys.begin('partner:4512345', 'new', 'hash-1', '2026-03-02T00:00:10.000Z')).toEqual({ state: 'inFlight', retryAfterSec: 20 });
    });

    it('keys are scoped: the same key in another scope is another key', async () => {
      const keys = ctx.idempotency;
      const token = await claimKey('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:00.000Z');
      await keys.complete({ scope: 'partner:4512345', key: 'k1', token, response });
      expect(await keys.begin('partner:4599999', 'k1', 'hash-2', '2026-03-02T17:00:01.000Z')).toMatchObject({ state: 'new' });
      expect(await keys.begin('partner:4512345', 'k1', 'hash-1', '2026-03-02T17:00:02.000Z')).toEqual({ state: 'done', response });
    });

    it('concurrent begins of one key from two connection pools: exactly one is new, the others are in flight', async () => {
      const second = await ctx.connectAgain();
      try {
        const results = await Promise.all(
          [ctx.idempotency, second.idempotency, ctx.idempotency, second.idempotency, ctx.idempotency, second.idempotency].map(
            (keys) => keys.begin('partner:4512345', 'race', 'hash-1', '2026-03-02T17:00:00.000Z'),
          ),
        );
        expect(results.filter((r) => r.state === 'new')).toHaveLength(1);
        expect(results.filter((r) => r.state === 'inFlight')).toHaveLength(5);
      } finally {
        await second.close();
      }
    });
  });

  describe('concurrent writers (two connection pools, as two service instances)', () => {
    it('two transactions writing the same claim version: exactly one wins, the other is refused with versionConflict', async () => {
      const { created, a, b } = await forkedClaim();
      await storeCreated(ctx.store, created);
      const second = await ctx.connectAgain();
      try {
        const write = (store: ClaimStore, next: { claim: ClaimRecord; entries: HistoryEntry[] }) =>
          store.transaction(async (tx) => {
            await tx.updateClaim(next.claim, 1);
            await tx.appendHistory(next.entries);
            await sleep(50); // hold the transaction open while the other one tries
          });
        const results = await Promise.allSettled([write(ctx.store, a), write(second.store, b)]);
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [[a, b][i]!] : []));
        expect(winners).toHaveLength(1);
        expectConflict(results.find((r) => r.status === 'rejected')!, 'versionConflict');
        const winner = winners[0]!;
        expect(await ctx.store.getClaim(created.claim.id)).toEqual(winner.claim);
        expect(await second.store.listHistory(created.claim.id)).toEqual([...created.entries, ...winner.entries]);
        expect(await ctx.store.listComments(created.claim.id)).toEqual([expect.objectContaining({ seq: 2, text: winner === a ? 'from A' : 'from B' })]);
      } finally {
        await second.close();
      }
    });

    it('read-modify-write transactions on one claim wait for each other, so both land', async () => {
      const { created } = await forkedClaim();
      await storeCreated(ctx.store, created);
      const second = await ctx.connectAgain();
      try {
        const bump = (store: ClaimStore, updatedAt: string, delay: number) =>
          store.transaction(async (tx) => {
            const current = (await tx.getClaim(created.claim.id))!;
            await sleep(delay);
            await tx.updateClaim({ ...current, version: current.version + 1, updatedAt }, current.version);
          });
        const first = bump(ctx.store, '2026-03-02T18:00:00.000Z', 100);
        await sleep(20);
        await Promise.all([first, bump(second.store, '2026-03-02T19:00:00.000Z', 0)]);
        expect(await ctx.store.getClaim(created.claim.id)).toMatchObject({ version: 3, updatedAt: '2026-03-02T19:00:00.000Z' });
      } finally {
        await second.close();
      }
    });

    it('two service instances firing the same due deadlines at once fire each deadline once', async () => {
      const one = serviceOn(ctx.store);
      const claims = [await submittedClaim(one.service), await submittedClaim(one.service), await submittedClaim(one.service)];
      const second = await ctx.connectAgain();
      try {
        const two = serviceOn(second.store);
        one.at('2026-03-20T00:00:00.000Z');
        two.at('2026-03-20T00:00:00.000Z');
        const [firedByOne, firedByTwo] = await Promise.all([one.service.fireDue(), two.service.fireDue()]);
        expect([...firedByOne, ...firedByTwo].map((e) => e.event).sort()).toEqual(
          [...Array(3).fill('decisionTargetDue'), ...Array(3).fill('reviewStartDue')].sort(),
        );
        for (const claim of claims) {
          const history = await ctx.store.listHistory(claim.id);
          expect(history.map((e) => e.event)).toEqual(['create', 'uploadPoe', 'submit', 'reviewStartDue', 'decisionTargetDue']);
          expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
          expect(await ctx.store.getClaim(claim.id)).toMatchObject({ version: 4, overdue: ['reviewStart', 'decisionTarget'] });
        }
        expect(await one.service.fireDue()).toEqual([]);
      } finally {
        await second.close();
      }
    });
  });

  describe.runIf(db.sql)('schema', () => {
    it('migrations go up, down and up again, leaving a working store', async () => {
      const fresh = await db.setup({ migrate: false });
      try {
        const knex = fresh.knex!;
        expect(await migrateLatest(knex)).toEqual(MIGRATIONS);
        expect(await migrateLatest(knex)).toEqual([]);
        for (const table of [...TABLES, ...DECISION_CONFLICT_TABLES]) expect(await knex.schema.hasTable(table)).toBe(true);
        expect(await undoThrough(knex, '20261124_002_decisions_conflicts')).toEqual(MIGRATIONS.slice(1).reverse());
        for (const table of DECISION_CONFLICT_TABLES) expect(await knex.schema.hasTable(table)).toBe(false);
        for (const table of TABLES) expect(await knex.schema.hasTable(table)).toBe(true);
        expect(await migrateDown(knex)).toEqual(['20261124_001_initial']);
        for (const table of TABLES) expect(await knex.schema.hasTable(table)).toBe(false);
        expect(await migrationStatus(knex)).toEqual({ applied: [], pending: MIGRATIONS });
        expect(await migrateLatest(knex)).toEqual(MIGRATIONS);
        expect(await migrationStatus(knex)).toEqual({ applied: MIGRATIONS, pending: [] });
        const { service } = serviceOn(fresh.store);
        const claim = await submittedClaim(service);
        expect(await fresh.store.getClaim(claim.id)).toEqual(claim);
        expect(await fresh.store.listDecisions(claim.id, 10)).toHaveLength(3);
      } finally {
        await fresh.teardown();
      }
    });

    it('two instances migrating a fresh database at once apply each migration once', async () => {
      const fresh = await db.setup({ migrate: false });
      try {
        const second = await fresh.connectAgain();
        const applied = await Promise.all([migrateLatest(fresh.knex!), migrateLatest(second.knex!)]);
        expect(applied.flat()).toEqual(MIGRATIONS);
        expect(await migrationStatus(second.knex!)).toEqual({ applied: MIGRATIONS, pending: [] });
      } finally {
        await fresh.teardown();
      }
    });

    it('migration 002 fills claim_products for the claims stored before it', async () => {
      const knex = ctx.knex!;
      const { service } = serviceOn(ctx.store);
      await submittedClaim(service);
      await service.create(PARTNER, claimFields({ products: [...BA_PRODUCTS, { line: 'microsoft365', workload: 'teams' }] }));
      const rows = () => knex('claim_products').select('*').orderBy([{ column: 'claim_id' }, { column: 'product_code' }]);
      const projected = await rows();
      expect(projected).toHaveLength(1 + 4);
      expect(await undoThrough(knex, '20261124_002_decisions_conflicts')).toEqual(MIGRATIONS.slice(1).reverse());
      expect(await migrateLatest(knex)).toEqual(MIGRATIONS.slice(1));
      expect(await rows()).toEqual(projected);
    });

    it('claim_products mirrors the claim: one row per product code, with its tenant (lower-cased), partner, status and state', async () => {
      const knex = ctx.knex!;
      const { service, at } = serviceOn(ctx.store);
      const fields = claimFields({
        customer: { tenantId: '6F1C0D4E-1F1A-4A53-9B7E-3C1D2B9E8A01', domain: 'contoso.com', name: 'Contoso' },
        products: [...BA_PRODUCTS, { line: 'microsoft365', workload: 'teams' }, { line: 'microsoft365', workload: 'teams' }],
      });
      const claim = await submittedClaim(service, fields);
      const rows = () => knex('claim_products').select('*').where({ claim_id: claim.id }).orderBy('product_code');
      const row = (code: string, status: string, state: string) => ({
        claim_id: claim.id,
        tenant_id: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01',
        partner_id: '4512345',
        product_code: code,
        status,
        state,
      });
      const codes = ['dynamics365Sales', 'powerBI', 'subscription:sub-a1', 'teams'];
      expect(await rows()).toEqual(codes.map((code) => row(code, 'submitted', 'submitted')));
      at('2026-03-03T17:00:00.000Z');
      await service.act(claim.id, 'startReview', REVIEWER, {});
      await service.act(claim.id, 'approve', REVIEWER, {});
      expect(await rows()).toEqual(codes.map((code) => row(code, 'approved', 'approved.consentPending')));
    });

    it('the projection tables mirror the record after every save: deadlines, overdue flags, PoE documents, disputes', async () => {
      const knex = ctx.knex!;
      const { service, at } = serviceOn(ctx.store);
      const claim = await submittedClaim(service);
      at('2026-03-11T00:00:00.000Z');
      await service.fireDue();
      await service.act(claim.id, 'startReview', REVIEWER, {});
      at('2026-03-11T17:00:00.000Z');
      await service.act(claim.id, 'reject', REVIEWER, { reason: 'insufficientPoe', comment: 'The SOW is not signed' });
      at('2026-03-12T17:00:00.000Z');
      await service.act(claim.id, 'dispute', PARTNER, { program: 'OSU', details: 'The signature is on page 4' });
      at('2026-03-13T17:00:00.000Z');
      await service.act(claim.id, 'resolveDispute', REVIEWER, { outcome: 'upheld', comment: 'Page 4 is not signed either' });
      const record = (await ctx.store.getClaim(claim.id))!;
      expect(record.status).toBe('rejected');

      const rows = (table: string, order: string) => knex(table).select('*').where({ claim_id: claim.id }).orderBy(order);
      const deadlines = await rows('claim_deadlines', 'id');
      expect(deadlines.map((d) => ({ ...d, lapsed: Boolean(d.lapsed) }))).toEqual(
        [...record.deadlines]
          .sort((x, y) => (x.id < y.id ? -1 : 1))
          .map((d) => ({
            claim_id: claim.id,
            id: d.id,
            name: d.name,
            status: d.status,
            started_at: d.startedAt,
            due: d.due,
            due_at: d.dueAt,
            ended_at: d.endedAt ?? null,
            lapsed: d.lapsed,
          })),
      );
      expect((await rows('claim_overdue', 'name')).map((r) => r.name)).toEqual([...record.overdue].sort());
      const [poe] = await rows('poe_documents', 'id');
      expect({ ...poe, customer_signed: Boolean(poe.customer_signed), size: Number(poe.size) }).toEqual({
        claim_id: claim.id,
        id: record.snapshot.context.poe[0]!.id,
        file_name: 'sow.pdf',
        customer_signed: true,
        signed_on: '2026-02-20',
        sha256: FILE.sha256,
        size: FILE.size,
        content_type: FILE.contentType,
        uploaded_at: '2026-03-02T17:00:00.000Z',
        uploaded_by: PARTNER.id,
      });
      expect(await rows('disputes', 'idx')).toEqual([
        {
          claim_id: claim.id,
          idx: 0,
          program: 'OSU',
          details: 'The signature is on page 4',
          raised_at: '2026-03-12T17:00:00.000Z',
          raised_by: PARTNER.id,
          outcome: 'upheld',
          resolved_at: '2026-03-13T17:00:00.000Z',
        },
      ]);
      expect((await ctx.store.listComments(claim.id)).map((c) => [c.event, c.text])).toEqual([
        ['reject', 'The SOW is not signed'],
        ['resolveDispute', 'Page 4 is not signed either'],
      ]);
    });

    it('recordPoeFile records a file once per content address', async () => {
      const knex = ctx.knex!;
      await ctx.store.recordPoeFile(FILE, '2026-03-02T17:00:00.000Z');
      await ctx.store.recordPoeFile({ ...FILE, size: 1 }, '2026-03-03T17:00:00.000Z');
      const rows = await knex('poe_files').select('*');
      expect(rows.map((r) => ({ ...r, size: Number(r.size) }))).toEqual([
        { sha256: FILE.sha256, size: FILE.size, content_type: FILE.contentType, created_at: '2026-03-02T17:00:00.000Z' },
      ]);
    });
  });

  describe.runIf(db.name === 'sqlite')('SQLite file', () => {
    it('lives in the data directory (created if missing) and opens in WAL mode with foreign keys, its pragmas set once per connection', async () => {
      const dataDir = join(mkdtempSync(join(tmpdir(), 'cpor-data-')), 'nested', 'data');
      const knex = createDatabase({ dataDir });
      try {
        await migrateLatest(knex);
        expect(existsSync(join(dataDir, 'cpor.sqlite'))).toBe(true);
        const pragma = async (name: string) => Object.values(((await knex.raw(`PRAGMA ${name}`)) as Array<Record<string, unknown>>)[0]!)[0];
        expect(await pragma('journal_mode')).toBe('wal');
        expect(await pragma('synchronous')).toBe(1); // NORMAL
        expect(await pragma('foreign_keys')).toBe(1);
        // A lock held elsewhere is waited for without blocking the event loop, never in SQLite's busy handler.
        expect(await pragma('busy_timeout')).toBe(0);
      } finally {
        await knex.destroy();
        rmSync(dirname(dirname(dataDir)), { recursive: true, force: true });
      }
    });

    it('a write outside a transaction waits for another pool\'s write lock without blocking the event loop, then lands', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cpor-data-'));
      const holder = createDatabase({ dataDir });
      const writer = createDatabase({ dataDir });
      try {
        await migrateLatest(holder);
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        const holding = holder.transaction(async (trx) => {
          await trx('poe_files').insert({ sha256: 'a', size: 1, content_type: 'application/pdf', created_at: '2026-03-02T17:00:00.000Z' });
          locked();
          await held;
        });
        await isLocked;
        const writing = writer('poe_files').insert({ sha256: 'b', size: 2, content_type: 'application/pdf', created_at: '2026-03-02T17:00:00.000Z' });
        let ticks = 0;
        const ticking = setInterval(() => ticks++, 5);
        await new Promise((resolve) => setTimeout(resolve, 150));
        clearInterval(ticking);
        expect(ticks).toBeGreaterThan(5);
        release();
        await holding;
        await writing;
        expect((await writer('poe_files').select('sha256').orderBy('sha256')).map((row: { sha256: string }) => row.sha256)).toEqual(['a', 'b']);
      } finally {
        await holder.destroy();
        await writer.destroy();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('a database URL that is not postgres:// is refused', () => {
      expect(() => createDatabase({ databaseUrl: 'mysql://localhost/cpor', dataDir: tmpdir() })).toThrow(/postgres:\/\//);
    });
  });
});
