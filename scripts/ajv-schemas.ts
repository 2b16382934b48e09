/**
 * The schemas the build compiles ahead of time into ajv standalone code (dist/ajv-validators.cjs,
 * scripts/build.mjs), each by the name and with the options its module asks for at run time
 * (namedValidator in src/domain/json-schema.ts): the ones compiled when the service starts.
 * Validators of request bodies and queries are compiled on first use (src/http/validation.ts).
 */
import { createAjv } from '../src/domain/json-schema';
import { EVENT_PAYLOAD_SCHEMAS, EVENT_PAYLOAD_VALIDATOR_OPTIONS } from '../src/machines/event-payloads';
import { POLICY_VALIDATOR_OPTIONS } from '../src/rules/policy-schema-check';
import { policySchema } from '../src/rules/policy-schema';
import { SCENARIO_VALIDATOR_OPTIONS, scenarioSchema } from '../src/simulate/scenario';

export { createAjv };

export const AJV_SCHEMAS = [
  { name: 'policy', schema: policySchema, options: POLICY_VALIDATOR_OPTIONS },
  { name: 'scenario', schema: scenarioSchema, options: SCENARIO_VALIDATOR_OPTIONS },
  ...Object.entries(EVENT_PAYLOAD_SCHEMAS).map(([type, schema]) => ({ name: `payload:${type}`, schema, options: EVENT_PAYLOAD_VALIDATOR_OPTIONS })),
];
