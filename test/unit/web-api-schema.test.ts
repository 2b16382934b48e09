/** The dashboard's API types are the service's document: web/src/api/schema.d.ts is what `npm run gen:api` writes now. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { API_SCHEMA_FILE, apiSchemaSource } from '../../scripts/gen-api';

it('web/src/api/schema.d.ts matches /openapi.json (run `npm run gen:api` after changing the API)', async () => {
  const expected = await apiSchemaSource();
  expect(readFileSync(API_SCHEMA_FILE, 'utf8') === expected, 'schema.d.ts is stale: run `npm run gen:api`').toBe(true);
});
