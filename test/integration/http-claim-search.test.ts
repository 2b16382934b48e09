/** GET /v1/claims?q=: search by customer name or domain, claim name, tenant, partner or claim ID, on both databases. */
import { describe, expect, it } from 'vitest';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { type HttpHelpers, OTHER_PARTNER_ID, OTHER_TENANT_ID, useHttpApp } from '../support/http-requests';
import type { TestApp } from '../support/test-app';

describe.each(SERVICE_DATABASES)('claim search over HTTP ($name)', (db) => {
  useDatabase(db);
  let h: HttpHelpers;
  useHttpApp({ database: db }, (app: { t: TestApp; h: HttpHelpers }) => ({ h } = app));

  async function search(q: string, caller: 'reviewer' | 'partner' | 'otherPartner' = 'reviewer', extra = ''): Promise<{ names: string[]; nextCursor: string | null; ids: string[] }> {
    const res = await h.api().get(`/v1/claims?q=${encodeURIComponent(q)}${extra}`).set('Authorization', await h.auth(caller));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const items = res.body.items as Array<{ id: string; fields: { customer: { name: string } } }>;
    return { names: items.map((c) => c.fields.customer.name).sort(), ids: items.map((c) => c.id), nextCursor: res.body.nextCursor as string | null };
  }

  async function seed() {
    const contoso = await h.createClaim({ customer: { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01', domain: 'contoso.com', name: 'Contoso Ltd.' } });
    const fabrikam = await h.createClaim({ customer: { tenantId: OTHER_TENANT_ID, domain: 'fabrikam.net', name: 'Fabrikam 100%_Inc' }, name: 'Teams rollout' });
    const other = await h.createClaim(
      { partnerId: OTHER_PARTNER_ID, mpnId: OTHER_PARTNER_ID, customer: { tenantId: 'aaaaaaaa-1111-4222-8333-444444444444', domain: 'tailspin.io', name: 'Tailspin Toys' } },
      'otherPartner',
    );
    return { contoso, fabrikam, other };
  }

  it('finds claims by customer name or domain, claim name, tenant ID, partner ID or claim ID, without regard to case', async () => {
    const { fabrikam, other } = await seed();
    expect((await search('CONTOSO')).names).toEqual(['Contoso Ltd.']);
    expect((await search('Fabrikam.NET')).names).toEqual(['Fabrikam 100%_Inc']);
    expect((await search('teams ROLL')).names).toEqual(['Fabrikam 100%_Inc']);
    expect((await search(OTHER_TENANT_ID.toUpperCase())).names).toEqual(['Fabrikam 100%_Inc']);
    expect((await search(OTHER_PARTNER_ID)).names).toEqual(['Tailspin Toys']);
    expect((await search(other.id.slice(0, 13).toUpperCase())).ids).toEqual([other.id]);
    expect((await search(fabrikam.id)).ids).toEqual([fabrikam.id]);
    expect((await search('nobody')).names).toEqual([]);
  });

  it("treats LIKE's wildcards in the text as text", async () => {
    await seed();
    expect((await search('100%_')).names).toEqual(['Fabrikam 100%_Inc']);
    expect((await search('%')).names).toEqual(['Fabrikam 100%_Inc']);
    expect((await search('_')).names).toEqual(['Fabrikam 100%_Inc']);
  });

  it("searches only the claims the caller may see: a partner never finds another partner's claim", async () => {
    await seed();
    expect((await search('tailspin', 'partner')).names).toEqual([]);
    expect((await search('tailspin', 'otherPartner')).names).toEqual(['Tailspin Toys']);
  });

  it('pages a search with keyset cursors, each match once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.createClaim({ customer: { tenantId: OTHER_TENANT_ID, domain: `shop${i}.example`, name: `Northwind ${i}` } })).id);
    await seed();
    const seen: string[] = [];
    let page = await search('northwind', 'reviewer', '&limit=2');
    seen.push(...page.ids);
    let pages = 1;
    while (page.nextCursor) {
      page = await search('northwind', 'reviewer', `&limit=2&cursor=${encodeURIComponent(page.nextCursor)}`);
      seen.push(...page.ids);
      pages++;
    }
    expect(pages).toBe(3);
    // One test clock instant: (createdAt, id) orders them by id.
    expect(seen).toEqual([...ids].sort());
  });

  it('refuses an empty search text with its JSONPath', async () => {
    const res = await h.api().get('/v1/claims?q=').set('Authorization', await h.auth('reviewer'));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errors: [expect.objectContaining({ path: '$.q' })] });
  });
});
