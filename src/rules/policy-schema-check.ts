/**
 * A policy against its JSON Schema (defaults applied): ajv's errors in the policy's
 * words, with codes (unknownState, missingEvent, ...) and near-miss suggestions.
 */
import type { ErrorObject } from 'ajv';
import { EVENT_TYPES, STATE_IDS } from '../domain/claim-types';
import { parseInstant } from '../domain/instants';
import { namedValidator, type ValidatorOptions } from '../domain/json-schema';
import { didYouMean } from './did-you-mean';
import { toJsonPath, type RawIssue, type Segment } from './policy-issues';
import { policySchema } from './policy-schema';

/** The options the policy validator is compiled with (here, or ahead of time by the build: scripts/ajv-schemas.ts). */
export const POLICY_VALIDATOR_OPTIONS: ValidatorOptions = { allErrors: true, verbose: true, useDefaults: true, strictRequired: false };

const validate = namedValidator('policy', policySchema, POLICY_VALIDATOR_OPTIONS);

/** Whether `data` is a policy (the schema's defaults now filled in), the issues if not, and which parts a semantic check may read. */
export function checkPolicySchema(data: unknown): { valid: boolean; issues: RawIssue[]; wellFormed: (...pointers: string[]) => boolean } {
  const valid = validate(data);
  const errors = valid ? [] : [...(validate.errors ?? [])];
  return { valid, issues: schemaIssues(errors, data), wellFormed: wellFormed(errors) };
}

// Keyed by the schema an error comes from (ajv's `parentSchema`): schema paths are relative
// to whichever definition ajv compiled separately. By its JSON, not the object: a validator
// compiled ahead of time (standalone code) carries copies of the schema's parts.
const keyOf = (schema: object | undefined): string => JSON.stringify(schema ?? null);
const { definitions, properties } = policySchema;

const ENUM_CODES = new Map<string, { code: string; what: string }>([
  [keyOf(definitions.stateId), { code: 'unknownState', what: 'state' }],
  [keyOf(definitions.eventType), { code: 'unknownEvent', what: 'event' }],
  [keyOf(definitions.claimField), { code: 'unknownField', what: 'claim field' }],
  [keyOf(definitions.factName), { code: 'unknownFact', what: 'fact' }],
  [keyOf(definitions.operator), { code: 'unknownOperator', what: 'operator' }],
  [keyOf(definitions.weekday), { code: 'unknownWeekday', what: 'weekday' }],
  [keyOf(definitions.role.properties.kind), { code: 'unknownRoleKind', what: 'role kind' }],
]);

const UNKNOWN_KEY_CODES = new Map<string, { code: string; what: string; known: readonly string[] }>([
  [keyOf(properties.events), { code: 'unknownEvent', what: 'event', known: EVENT_TYPES }],
  [keyOf(properties.editableFields), { code: 'unknownState', what: 'state', known: STATE_IDS }],
]);

const ONE_OF_MESSAGES = new Map<string, { none: string; several: string }>([
  [
    keyOf(definitions.deadline),
    {
      none: 'A deadline needs a duration: businessDays: N or days: N.',
      several: 'A deadline has one duration: businessDays or days, not both.',
    },
  ],
  [
    keyOf(definitions.deadlineAction),
    {
      none: 'onDue needs one of escalate: true, send: EVENT (with an optional with: {...}), or closes: [EVENTS].',
      several: 'onDue does one thing: escalate, send or closes, not several.',
    },
  ],
  [
    keyOf(definitions.condition),
    {
      none: 'A condition needs one of all: [...], any: [...], not: {...}, or fact/operator/value.',
      several: 'A condition is one of all, any, not or a fact comparison; combine several under all: [...] or any: [...].',
    },
  ],
]);

function schemaIssues(errors: ErrorObject[], data: unknown): RawIssue[] {
  // oneOf branches only list required keys: the oneOf error itself says it better.
  let relevant = errors.filter((e) => !/\/oneOf\/\d+\//.test(e.schemaPath));
  // An unknown key usually explains the missing or conflicting ones beside it, and
  // a value of the wrong type has no keys to miss.
  const explained = new Set(
    relevant.filter((e) => e.keyword === 'additionalProperties' || e.keyword === 'type').map((e) => e.instancePath),
  );
  relevant = relevant.filter(
    (e) => !(['required', 'oneOf', 'dependencies'].includes(e.keyword) && explained.has(e.instancePath)),
  );
  const missingEvents = relevant.filter((e) => e.keyword === 'required' && keyOf(e.parentSchema) === keyOf(properties.events));
  const issues = relevant
    .filter((e) => !missingEvents.includes(e))
    .map((error) => schemaIssue(error, segmentsOf(error.instancePath, data)));
  if (missingEvents.length) {
    const names = missingEvents.map((e) => String((e.params as { missingProperty: string }).missingProperty));
    issues.push({
      segments: ['events'],
      code: 'missingEvent',
      message: `${names.length > 1 ? 'Events' : 'Event'} ${names.join(', ')} missing: every event needs an entry with its roles ([system] for events only deadlines send).`,
    });
  }
  return issues;
}

function schemaIssue(error: ErrorObject, segments: Segment[]): RawIssue {
  const params = error.params as Record<string, unknown>;
  const where = segments.length ? toJsonPath(segments) : 'the policy';
  switch (error.keyword) {
    case 'enum': {
      const known = (params.allowedValues as unknown[]).map(String);
      const mapped = ENUM_CODES.get(keyOf(error.parentSchema));
      const what = mapped?.what ?? 'value';
      return {
        segments,
        code: mapped?.code ?? 'schema',
        message: `Unknown ${what} ${JSON.stringify(error.data)}${didYouMean(error.data, known)}; known ${what === 'value' ? 'values' : `${what}s`}: ${known.join(', ')}.`,
      };
    }
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const mapped = UNKNOWN_KEY_CODES.get(keyOf(error.parentSchema));
      if (mapped) {
        return {
          segments: [...segments, key],
          atKey: true,
          code: mapped.code,
          message: `Unknown ${mapped.what} "${key}"${didYouMean(key, mapped.known)}; known ${mapped.what}s: ${mapped.known.join(', ')}.`,
        };
      }
      const allowed = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      return {
        segments: [...segments, key],
        atKey: true,
        code: 'unknownProperty',
        message: `Unknown property "${key}" in ${where}${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}.`,
      };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const described = (error.parentSchema?.properties as Record<string, { description?: string }> | undefined)?.[missing]
        ?.description;
      return {
        segments,
        code: 'missingProperty',
        message: `${where === 'the policy' ? 'The policy' : where} needs "${missing}"${described ? `: ${described}` : '.'}`,
      };
    }
    case 'oneOf': {
      const messages = ONE_OF_MESSAGES.get(keyOf(error.parentSchema));
      const several = Array.isArray(params.passingSchemas);
      return { segments, code: 'schema', message: (several ? messages?.several : messages?.none) ?? `${where} ${error.message}.` };
    }
    case 'dependencies':
      return {
        segments,
        code: 'missingProperty',
        message: `${where} has "${String(params.property)}" but not "${String(params.missingProperty)}": ${
          params.property === 'with' ? 'with: is the payload of send:' : 'a comparison needs fact, operator and value'
        }.`,
      };
    case 'type': {
      const quote =
        params.type === 'string' && (typeof error.data === 'number' || typeof error.data === 'boolean')
          ? ` (quote it: "${String(error.data)}")`
          : '';
      return { segments, code: 'schema', message: `Must be ${article(String(params.type))}${quote}.` };
    }
    case 'uniqueItems': {
      const [i, j] = [Number(params.i), Number(params.j)];
      return {
        segments: [...segments, Math.max(i, j)],
        code: 'duplicateItem',
        message: `${JSON.stringify((error.data as unknown[])[Math.max(i, j)])} is listed twice (also at ${toJsonPath([...segments, Math.min(i, j)])}).`,
      };
    }
    case 'const':
      return { segments, code: 'schema', message: `Must be ${JSON.stringify(params.allowedValue)}.` };
    case 'format':
      return {
        segments,
        code: 'schema',
        message:
          params.format === 'date-time'
            ? `${JSON.stringify(error.data)} ${impossibleInstant(error.data) ?? 'is not an ISO-8601 date-time with a time zone (e.g. 2026-01-01T00:00:00Z)'}.`
            : `Must match format ${String(params.format)}.`,
      };
    case 'pattern':
      return {
        segments,
        code: 'schema',
        message: segments.includes('holidays')
          ? `${JSON.stringify(error.data)} is not a date written YYYY-MM-DD.`
          : `${JSON.stringify(error.data)} must match ${String(params.pattern)}.`,
      };
    default:
      return { segments, code: 'schema', message: `${capitalize(error.message ?? 'is invalid')}.` };
  }
}

/** Why a well-formed instant is not a real one (`is not a real instant: …`), or undefined. */
function impossibleInstant(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseInstant(value);
  return !parsed.ok && parsed.problem.startsWith('is not a real instant') ? parsed.problem : undefined;
}

function article(type: string): string {
  const noun = type === 'integer' ? 'an integer' : type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : `a ${type}`;
  return noun;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** An ajv instancePath (`/deadlines/a/runsIn/0`) as path segments, numbers where the data is a list. */
function segmentsOf(instancePath: string, data: unknown): Segment[] {
  if (!instancePath) return [];
  const segments: Segment[] = [];
  let node = data;
  for (const part of instancePath.slice(1).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return segments;
}

/**
 * Whether the schema found nothing wrong at, under or above each of these JSON
 * pointers (`/events`), so a semantic check may read them as typed.
 */
function wellFormed(errors: ErrorObject[]): (...pointers: string[]) => boolean {
  const touched = errors.map((e) => {
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required') return `${e.instancePath}/${String(params.missingProperty)}`;
    if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(params.additionalProperty)}`;
    return e.instancePath;
  });
  const overlap = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  return (...pointers) => !touched.some((t) => pointers.some((p) => overlap(t, p)));
}
