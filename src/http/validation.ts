/**
 * Edge validation with ajv: request bodies and queries are checked against the same
 * JSON Schemas that document them, and every problem is reported with its JSONPath.
 */
import type { Ajv, ValidateFunction } from 'ajv';
import { InputError } from '../domain/errors';
import type { CodeWithStatus } from '../domain/error-codes';
import { createAjv, describeAjvError, describeWithValue } from '../domain/json-schema';
import type { ProblemIssue } from './errors';

// Made on first use (an Ajv instance costs milliseconds): not while the service starts.
let ajv: Ajv | undefined;

const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    const { $schema: _dialect, ...rest } = schema as { $schema?: string };
    validate = (ajv ??= createAjv({ allErrors: true, discriminator: true })).compile(rest);
    compiled.set(schema, validate);
  }
  return validate;
}

/** The problems of `value` against `schema`, each located; empty when it is valid. */
export function issuesOf(schema: object, value: unknown): ProblemIssue[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  const seen = new Set<string>();
  const issues: ProblemIssue[] = [];
  // An impossible instant or date first: under a oneOf (a scenario step) it tells which branch was meant.
  const errors = [...(validate.errors ?? [])].sort((a, b) => Number(b.keyword === 'format') - Number(a.keyword === 'format'));
  for (const error of errors) {
    // oneOf/anyOf summaries repeat what their branches said.
    if (error.keyword === 'oneOf' || error.keyword === 'anyOf' || error.keyword === 'discriminator') continue;
    const issue = describeWithValue(error, value);
    const key = `${issue.path} ${issue.message}`;
    if (!seen.has(key)) {
      issues.push(issue);
      seen.add(key);
    }
  }
  if (issues.length === 0) issues.push(describeAjvError(validate.errors?.[0]));
  return issues;
}

/** Throws a 400 (`code`, default invalidPayload) naming every problem of `value`; returns it typed when valid. */
export function validateInput<T>(schema: object, value: unknown, { code = 'invalidPayload' as CodeWithStatus<400>, what = 'The request body' } = {}): T {
  const issues = issuesOf(schema, value);
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new InputError(code, `${what} is not valid: ${first.path}: ${first.message}.`, first.path, { errors: issues });
  }
  return value as T;
}

let queryAjv: Ajv | undefined;
const compiledQueries = new WeakMap<object, ValidateFunction>();

/**
 * Validates a query string's parameters against an object schema, converting numbers
 * and booleans as the schema says; a repeated or unknown parameter is a 400.
 */
export function validateQuery<T>(schema: object, query: Record<string, unknown>): T {
  let validate = compiledQueries.get(schema);
  if (!validate) {
    validate = (queryAjv ??= createAjv({ allErrors: true, coerceTypes: true })).compile({ ...schema, type: 'object', additionalProperties: false });
    compiledQueries.set(schema, validate);
  }
  const copy: Record<string, unknown> = { ...query };
  for (const [name, value] of Object.entries(copy)) {
    if (typeof value !== 'string') {
      const issue = { path: `$.${name}`, message: 'must be given once, as a plain value' };
      throw new InputError('invalidQuery', `The query is not valid: ${issue.path}: ${issue.message}.`, issue.path, { errors: [issue] });
    }
  }
  if (validate(copy)) return copy as T;
  const issues = (validate.errors ?? []).map((error) => describeWithValue(error, copy));
  const first = issues[0]!;
  throw new InputError('invalidQuery', `The query is not valid: ${first.path}: ${first.message}.`, first.path, { errors: issues });
}
