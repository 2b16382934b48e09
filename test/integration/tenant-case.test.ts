/**
 * Tenant IDs are GUIDs: their case does not matter. A claim entered with an upper-case
 * tenant ID belongs to the customer whose token names it in lower case (and the other
 * way round), for reading, listing, acting, the tenantId filter, conflicts and the
 * assessment report, on every store; claims stored before migration 003 too.
 */
import { describe, expect, it } from 'vitest';
import { migrateDown, migrateLatest, migrationStatus } from '../../src/db/database';
import { claimFields, customerOf } from '../support/factories';
import { DATABASES, sqliteDatabase, postgresDatabase, useDatabase } from '../support/databases';
import { CALLERS, type HttpHelpers, useHttpApp, OTHER_PARTNER_ID, TENANT_ID } from '../support/http-requests';
import { createTestApp, type TestApp } from '../support/test-app';

const UPPER = TENANT_ID.toUpperCase();
const onTenant = (tenantId: string) => ({ customer: { tenantId, domain: 'contoso.com', name: 'Contoso' } });

describe.each(DATABASES)('tenant IDs without case ($name)', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: HttpHelpers;
  useHttpApp({ database: db }, (app) => ({ t, h } = app));

  const approved = (tenantId: string) => h.claimIn('approved.consentPending', onTenant(tenantId));

  it('a claim entered with an upper-case tenant ID is read, listed and consent-denied by the lower-case customer it was sent the notice for', async () => {
    const id = await approved(UPPER);
    const outbox = await h.api().get(`/v1/outbox?claimId=${id}`).set('Authorization', await h.auth('reviewer'));
    expect(outbox.body.items.map((m: { type: string }) => m.type)).toEqual(['claim.approved']);

    const auth = await t.bearer(customerOf(TENANT_ID));
    const read = await h.api().get(`/v1/claims/${id}`).set('Authorization', auth);
    expect(read.status).toBe(200);
    const list = await h.api().get('/v1/claims').set('Authorization', auth);
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    const denied = await h.api()
      .post(`/v1/claims/${id}/actions/denyConsent`)
      .set('Authorization', auth)
      .set('If-Match', read.headers.etag as string)
      .send({});
    expect(denied.status, JSON.stringify(denied.body)).toBe(200);
    expect(denied.body.status).toBe('rejected');
  });

  it('a customer token with an upper-case tenant ID sees the claims entered in lower case, and its own tenantId filter in any case', async () => {
    const { id } = await h.createClaim(onTenant(TENANT_ID));
    const auth = await t.bearer(customerOf(UPPER));
    expect((await h.api().get(`/v1/claims/${id}`).set('Authorization', auth)).status).toBe(200);
    for (const tenantId of [TENANT_ID, UPPER]) {
      const list = await h.api().get(`/v1/claims?tenantId=${tenantId}`).set('Authorization', auth);
      expect(list.body.items.map((c: { id: string }) => c.id), tenantId).toEqual([id]);
    }
    expect((await h.api().get(`/v1/claims/${id}/decisions`).set('Authorization', auth)).status).toBe(200);
  });

  it('the tenantId filter finds claims on one tenant whatever the case they were entered or asked in, as conflict detection does', async () => {
    const upper = await h.submittedClaim(onTenant(UPPER));
    const { id: otherPartner } = await h.createClaim({ ...onTenant(TENANT_ID), partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID }, 'otherPartner');
    expect((await h.uploadPoe(otherPartner, 'otherPartner')).status).toBe(201);
    await h.actOk(otherPartner, 'submit', 'otherPartner');

    for (const tenantId of [TENANT_ID, UPPER]) {
      const list = await h.api().get(`/v1/claims?tenantId=${tenantId}`).set('Authorization', await h.auth('reviewer'));
      expect(list.body.items.map((c: { id: string }) => c.id).sort(), tenantId).toEqual([upper, otherPartner].sort());
    }
    const conflicted = await h.api().get('/v1/claims?conflicted=true').set('Authorization', await h.auth('reviewer'));
    expect(conflicted.body.items.map((c: { id: string }) => c.id).sort()).toEqual([upper, otherPartner].sort());
    const read = await h.getClaim(upper, 'reviewer');
    expect(read.body.conflicts.map((c: { claimId: string }) => c.claimId)).toEqual([otherPartner]);
  });

  it('the assessment report names each tenant by one key (lower case), however its claims spelled it', async () => {
    const upper = await approved(UPPER);
    const lower = await approved(TENANT_ID);
    await t.advance('2026-03-11T07:00:00.000Z');
    const res = await h.api().get('/v1/reports/assessment').set('Authorization', await h.auth('reviewer'));
    expect(res.status).toBe(200);
    const tenants = Object.fromEntries(res.body.items.map((row: { claimId: string; tenantId: string }) => [row.claimId, row.tenantId]));
    expect(tenants).toEqual({ [upper]: TENANT_ID, [lower]: TENANT_ID });
  });
});

describe.each([sqliteDatabase, postgresDatabase])('migration 003 on claims stored before it ($name)', (db) => {
  useDatabase(db);

  it('rewrites their tenant column to the key, so the tenantId filter finds an upper-case tenant ID in lower case', async () => {
    const setup = await db.setup({ migrate: false });
    try {
      const knex = setup.knex!;
      // Stored by today's store (its projections need today's tables), then the schema taken
      // back to 002, and the tenant column as the store wrote it before 003: the ID as entered.
      await migrateLatest(knex);
      const claim = { ...(await createClaimRecord()) };
      await setup.store.transaction((tx) => tx.insertClaim(claim));
      while ((await migrationStatus(knex)).applied.length > 2) await migrateDown(knex);
      await knex('claims').where({ id: claim.id }).update({ tenant_id: UPPER });
      expect(await setup.store.listClaims({ tenantId: TENANT_ID, limit: 10 })).toEqual([]);

      await migrateLatest(knex);
      const found = await setup.store.listClaims({ tenantId: TENANT_ID, limit: 10 });
      expect(found.map((c) => c.id)).toEqual([claim.id]);
      expect(found[0]!.snapshot.context.fields.customer.tenantId).toBe(UPPER);
    } finally {
      await setup.teardown();
    }
  });
});

/** A stored claim on the upper-case tenant, made by the claim service on a memory store. */
async function createClaimRecord() {
  const t = await createTestApp();
  try {
    const { claim } = await t.service.create(CALLERS.partner, claimFields(onTenant(UPPER)));
    return claim;
  } finally {
    await t.close();
  }
}
