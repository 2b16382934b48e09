/** Writes `policies/policy.schema.json` from `src/rules/policy-schema.ts`: `npx tsx scripts/write-policy-schema.ts`. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderPolicySchema } from '../src/rules/policy-schema';

const target = fileURLToPath(new URL('../policies/policy.schema.json', import.meta.url));
writeFileSync(target, renderPolicySchema());
console.log(`wrote ${target}`);
