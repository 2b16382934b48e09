/**
 * The one owner of JSON Schema validation (ajv): its options, its formats (the strict
 * instants and dates of ./instants) and how its errors read. Every schema the service
 * validates against (payloads, requests, queries, policies, scenarios) goes through here.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { addStrictTimeFormats, formatProblem, isInstant, isLocalDate, valueAtPointer } from './instants';

/** What a validator may choose; strict mode, union types and the formats are the project's, always. */
export type ValidatorOptions = Pick<Options, 'allErrors' | 'coerceTypes' | 'discriminator' | 'useDefaults' | 'verbose' | 'strictRequired'>;

/** An ajv instance with the project's options and formats (`date-time` and `date` read strictly); `code`: for the build's standalone code. */
export function createAjv(options: ValidatorOptions & Pick<Options, 'code'> = {}): Ajv {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, ...options });
  // ajv-formats' default export is typed for CommonJS consumers.
  (addFormatsPlugin as unknown as (a: Ajv) => Ajv)(ajv);
  addStrictTimeFormats(ajv);
  return ajv;
}

/**
 * The validators the build compiled ahead of time (ajv standalone code, scripts/build.mjs), in
 * the file beside the bundle: dist/ajv-validators.cjs. It exports a function of the formats
 * (`formats` in the generated code: ajv-formats' and the strict instants and dates of ./instants)
 * answering the validators by name. Running the sources, there is no such file.
 */
const PRECOMPILED_VALIDATORS_FILE = 'ajv-validators.cjs';

let precompiled: Record<string, ValidateFunction> | null | undefined;

function precompiledValidators(): Record<string, ValidateFunction> | null {
  if (precompiled === undefined) {
    const file = fileURLToPath(new URL(`./${PRECOMPILED_VALIDATORS_FILE}`, import.meta.url));
    const require = createRequire(import.meta.url);
    if (existsSync(file)) {
      const { fullFormats } = require('ajv-formats/dist/formats') as { fullFormats: Record<string, unknown> };
      const formats = { ...fullFormats, 'date-time': { type: 'string', validate: isInstant }, date: { type: 'string', validate: isLocalDate } };
      precompiled = (require(file) as (formats: object) => Record<string, ValidateFunction>)(formats);
    } else precompiled = null;
  }
  return precompiled;
}

/**
 * The validator of `schema` named `name` in the build's list (scripts/ajv-schemas.ts): compiled
 * ahead of time when the service runs from dist/, else compiled now with `options` (the same
 * options the build compiles it with).
 */
export function namedValidator<T>(name: string, schema: object, options: ValidatorOptions): ValidateFunction<T> {
  return (precompiledValidators()?.[name] as ValidateFunction<T> | undefined) ?? createAjv(options).compile<T>(schema);
}

/** A problem of a value against a schema. */
export interface SchemaIssue {
  /** JSONPath of the offending value, from the value's root (`$`). */
  path: string;
  message: string;
}

/** Turns an ajv error into a JSONPath and a sentence. */
export function describeAjvError(error: ErrorObject | undefined): SchemaIssue {
  if (!error) return { path: '$', message: 'is invalid' };
  const base = pointerToJsonPath(error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return { path: `${base}.${extra}`, message: `unknown field "${extra}"` };
    }
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return { path: `${base}.${missing}`, message: `"${missing}" is required` };
    }
    case 'enum':
      return {
        path: base,
        message: `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`,
      };
    default:
      return { path: base, message: error.message ?? 'is invalid' };
  }
}

/** An ajv error in words; an impossible instant or date of `root` says what is impossible about it. */
export function describeWithValue(error: ErrorObject | undefined, root: unknown): SchemaIssue {
  const issue = describeAjvError(error);
  if (error?.keyword !== 'format') return issue;
  const problem = formatProblem(String((error.params as { format?: unknown }).format), valueAtPointer(root, error.instancePath));
  return problem ? { path: issue.path, message: problem } : issue;
}

/** `/products/0/line` → `$.products[0].line`. */
function pointerToJsonPath(pointer: string): string {
  if (!pointer) return '$';
  return (
    '$' +
    pointer
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`))
      .join('')
  );
}
