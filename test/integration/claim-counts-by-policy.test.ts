/** The claims per policy version (GET /v1/policies) counted by each store the same way: a number, per id and version. */
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASES, useDatabase } from '../support/databases';
import { ACTORS, claimFields } from '../support/factories';
import { createTestApp, type TestApp } from '../support/test-app';

describe.each(DATABASES)('countClaimsByPolicy on $name', (db) => {
  useDatabase(db);
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('counts the claims that follow each policy version, as numbers; none is an empty list', async () => {
    t = await createTestApp({ database: db });
    expect(await t.store.countClaimsByPolicy()).toEqual([]);
    await t.service.create(ACTORS.partner, claimFields());
    await t.service.create(ACTORS.partner, claimFields({ name: 'Second claim' }));
    expect(await t.store.countClaimsByPolicy()).toEqual([{ id: 'cpor', version: '2026.1', claims: 2 }]);
  });
});
