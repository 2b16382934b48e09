/**
 * Requests generated from an OpenAPI 3.1 document, and the checks each answer must pass.
 *
 * - `schemaArbitrary` turns a JSON Schema of the document into a fast-check arbitrary of
 *   values valid against it (the keywords the service's schemas use; arrays and depth bounded).
 * - `malformedArbitrary` gives values a schema refuses: wrong types, a required property
 *   missing, an extra property, huge strings, deep nesting, impossible dates, odd Unicode.
 * - `requestArbitrary` builds whole requests for one operation: path, query, headers and
 *   body, each either valid or malformed (bad percent-encoding, wrong content types,
 *   truncated multipart, invalid JSON, …).
 * - `createResponseChecker` says what is wrong with an answer: a 5xx, an undocumented
 *   status or content type, a body its documented schema refuses.
 * - `sendRaw` sends a request byte for byte (no client library re-encodes the path).
 */
import { request as httpRequest } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import fc from 'fast-check';
import { pdfBytes as factoryPdfBytes } from './factories';

export type Json = Record<string, unknown>;
type Schema = Json;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  operationId: string;
  method: string;
  /** OpenAPI path, `/v1/claims/{id}`. */
  path: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> };
  responses: Record<string, Json>;
  /** Whether the operation requires a bearer token. */
  auth: boolean;
}

/** Every operation of the document, in document order. */
export function operationsOf(doc: Json): Operation[] {
  const operations: Operation[] = [];
  const globalAuth = Array.isArray(doc.security) && doc.security.length > 0;
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) continue;
      const security = op.security as unknown[] | undefined;
      operations.push({
        operationId: op.operationId as string,
        method,
        path,
        parameters: (op.parameters as Parameter[] | undefined) ?? [],
        ...(op.requestBody ? { requestBody: op.requestBody as Operation['requestBody'] & object } : {}),
        responses: op.responses as Record<string, Json>,
        auth: security ? security.length > 0 : globalAuth,
      });
    }
  }
  return operations;
}

/** Follows a local `$ref` (`#/components/...`). */
function deref<T = Json>(doc: Json, value: T): T {
  let current: unknown = value;
  for (let hops = 0; hops < 20; hops++) {
    const ref = (current as { $ref?: unknown } | null)?.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return current as T;
    current = ref
      .slice(2)
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
    if (current === undefined) throw new Error(`unresolvable $ref ${ref}`);
  }
  throw new Error('$ref cycle');
}

// ---- Valid values from a schema ----

/** Instants well inside what any date parser takes (2000..2099). */
const instantArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const dateArb = instantArb.map((iso) => iso.slice(0, 10));
const FORMATS: Record<string, fc.Arbitrary<string>> = {
  'date-time': instantArb,
  date: dateArb,
  uuid: fc.uuid(),
  // fc.emailAddress()/fc.domain() produce RFC corner cases ajv-formats refuses; keep to plain ones.
  email: fc.stringMatching(/^[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,5})?@[a-z]{1,10}\.(com|org|example)$/),
  hostname: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]\.(com|org|example)$/),
  'uri-reference': fc.constantFrom('/v1/claims', 'https://example.com/x', 'urn:x:y'),
};

/** Strings the service meets in real use, with Unicode in them. */
const textArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

const MAX_ITEMS = 4;
const MAX_DEPTH = 6;

/** Types a schema allows (an explicit `type`, or what its `enum`/`const` imply, or any). */
function typesOf(schema: Schema): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type as string[];
  return undefined;
}

/** A fast-check arbitrary of values valid against `schema` (local `$ref`s resolved against `doc`). */
export function schemaArbitrary(doc: Json, schemaIn: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schemaIn || Object.keys(schemaIn).length === 0) return depth > MAX_DEPTH ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
  const schema = deref(doc, schemaIn);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (branches) {
    // A schema with both its own keywords and branches (a discriminated product): merge each branch in.
    const { oneOf: _o, anyOf: _a, discriminator: _d, ...base } = schema;
    return fc.oneof(
      ...branches.map((branch) => {
        const resolved = deref(doc, branch);
        const merged = Object.keys(base).length > 1 || base.properties ? mergeSchemas(base, resolved) : resolved;
        return schemaArbitrary(doc, merged, depth + 1);
      }),
    );
  }
  if (Array.isArray(schema.allOf)) {
    return schemaArbitrary(doc, (schema.allOf as Schema[]).reduce((a, b) => mergeSchemas(a, deref(doc, b)), {}), depth + 1);
  }
  const types = typesOf(schema) ?? (schema.properties ? ['object'] : schema.items ? ['array'] : undefined);
  if (!types) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((type) => arbitraryOfType(doc, schema, type, depth)));
}

function mergeSchemas(a: Schema, b: Schema): Schema {
  const merged: Schema = { ...a, ...b };
  if (a.properties || b.properties) merged.properties = { ...(a.properties as Json), ...(b.properties as Json) };
  if (a.required || b.required) merged.required = [...new Set([...((a.required as string[]) ?? []), ...((b.required as string[]) ?? [])])];
  return merged;
}

function arbitraryOfType(doc: Json, schema: Schema, type: string, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: typeof schema.minimum === 'number' ? schema.minimum : -1000,
        max: typeof schema.maximum === 'number' ? schema.maximum : 100_000,
      });
    case 'number':
      return fc.double({
        min: typeof schema.minimum === 'number' ? schema.minimum : -1e6,
        max: typeof schema.maximum === 'number' ? schema.maximum : 1e6,
        noNaN: true,
      });
    case 'string': {
      if (typeof schema.format === 'string' && FORMATS[schema.format]) return FORMATS[schema.format]!;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Math.max(min, 40);
      if (typeof schema.pattern === 'string') {
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => [...s].length >= min && [...s].length <= max);
      }
      return textArb.filter((s) => [...s].length >= min && [...s].length <= max);
    }
    case 'array': {
      if (depth > MAX_DEPTH) return fc.constant([]);
      const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxItems = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : MAX_ITEMS, Math.max(minItems, MAX_ITEMS));
      const items = schemaArbitrary(doc, schema.items as Schema | undefined, depth + 1);
      return schema.uniqueItems
        ? fc.uniqueArray(items, { minLength: minItems, maxLength: maxItems, selector: (v) => JSON.stringify(v) })
        : fc.array(items, { minLength: minItems, maxLength: maxItems });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      if (depth > MAX_DEPTH && required.size === 0) return fc.constant({});
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, sub] of Object.entries(properties)) model[name] = schemaArbitrary(doc, sub, depth + 1);
      const known = fc.record(model, { requiredKeys: [...required].filter((k) => k in properties) });
      const extra = schema.additionalProperties;
      if (extra === false || extra === undefined || Object.keys(properties).length > 0) {
        if (extra && typeof extra === 'object') {
          return fc
            .tuple(known, fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !(k in properties)), schemaArbitrary(doc, extra as Schema, depth + 1), { maxKeys: 3 }))
            .map(([a, b]) => ({ ...b, ...a }));
        }
        return known;
      }
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), schemaArbitrary(doc, typeof extra === 'object' ? (extra as Schema) : undefined, depth + 1), { maxKeys: 3 });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---- Malformed values ----

/** Dates and instants that match the documented patterns, yet name no real moment (or one out of range). */
const BAD_DATES = [
  '2026-02-30',
  '2026-13-01',
  '2026-00-10',
  '2026-13-01T00:00Z',
  '2026-02-30T10:00:00Z',
  '2026-03-01T24:61Z',
  '2026-03-01T10:00+99:59',
  '0001-01-01T00:00Z',
  '0000-01-01',
  '9999-12-31T23:59:59-12:00',
  '+275760-09-13T00:00:00Z',
  '2026-03-01T10:00:00.9999999999999999999Z',
];

/** Text that breaks naive handling: huge, control characters, lone surrogates, RTL marks, NUL. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\u202e\u0645\u0631\u062d\u0628\u0627',
  '👩‍👩‍👧‍👦'.repeat(50),
  '=cmd|/C calc!A0',
  '../../etc/passwd',
  '%ZZ',
  '<script>alert(1)</script>',
  "'; DROP TABLE claims; --",
  '__proto__',
  'x'.repeat(70_000),
];

/** `depth` nested arrays or objects, as JSON text (too deep for recursive code to walk). */
const deeplyNested = (depth: number, kind: 'array' | 'object') =>
  kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

const wrongTypeValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constant([]),
  fc.constant({}),
  fc.constantFrom(...NASTY_STRINGS),
  fc.constantFrom(...BAD_DATES),
);

/** A value `schema` refuses (or one it takes only by chance), as JSON. */
function malformedArbitrary(doc: Json, schemaIn: Schema | undefined): fc.Arbitrary<unknown> {
  const schema = schemaIn ? deref(doc, schemaIn) : {};
  const valid = schemaArbitrary(doc, schema);
  const mutated = valid.chain((value) => mutate(value));
  return fc.oneof(
    { weight: 4, arbitrary: mutated },
    { weight: 1, arbitrary: wrongTypeValue },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  );
}

/** Breaks one spot of a valid value: drops, adds or replaces a property or item, deep inside too. */
function mutate(value: unknown): fc.Arbitrary<unknown> {
  if (Array.isArray(value) && value.length > 0) {
    return fc.integer({ min: 0, max: value.length - 1 }).chain((i) =>
      fc.oneof(
        mutate(value[i]).map((v) => value.map((x, j) => (j === i ? v : x))),
        wrongTypeValue.map((v) => [...value, v]),
      ),
    );
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    const options: fc.Arbitrary<unknown>[] = [
      fc.tuple(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'extra')), wrongTypeValue).map(
        ([k, v]) => ({ ...(value as Json), [k]: v }),
      ),
    ];
    if (keys.length > 0) {
      const key = fc.constantFrom(...keys);
      options.push(
        key.map((k) => Object.fromEntries(Object.entries(value).filter(([name]) => name !== k))),
        fc.tuple(key, wrongTypeValue).map(([k, v]) => ({ ...(value as Json), [k]: v })),
        key.chain((k) => mutate((value as Json)[k]).map((v) => ({ ...(value as Json), [k]: v }))),
      );
    }
    return fc.oneof(...options);
  }
  // A date or instant: mostly an impossible one of the same shape.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) {
    return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...BAD_DATES) }, { weight: 1, arbitrary: wrongTypeValue });
  }
  return wrongTypeValue;
}

// ---- Whole requests ----

export interface FuzzRequest {
  method: string;
  /** The raw request target: path and query, exactly as sent. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The claim the path names, if any (to fill in its current ETag). */
  claimId?: string;
  /** What kind of request this is, for failure messages. */
  note: string[];
}

/** The current ETag of the claim a request names; the request builder leaves this placeholder. */
export const CURRENT_ETAG = '<current-etag>';

export interface RequestContext {
  doc: Json;
  /** Raw path segments (already encoded) for a path parameter: real, hidden and missing ids, etc. */
  pathValues(name: string, op: Operation): fc.Arbitrary<{ raw: string; claimId?: string }> | undefined;
  /** Extra realistic valid bodies for an operation, by content type. */
  examples?(op: Operation, contentType: string): fc.Arbitrary<unknown> | undefined;
}

const BAD_SEGMENTS = ['%ZZ', '%', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%00', '..', '%2e%2e%2f', 'x'.repeat(5000), '%F0%9F%92%A9', 'a%2Fb'];

function pathArbitrary(ctx: RequestContext, op: Operation) {
  const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const perName = names.map((name) => {
    const param = op.parameters.find((p) => p.in === 'path' && p.name === name);
    const own = ctx.pathValues(name, op);
    // A path parameter is never empty (`/v1/claims/` is another operation).
    const fromSchema = schemaArbitrary(ctx.doc, param?.schema)
      .map((v) => ({ raw: percentEncode(String(v)) }))
      .filter((v) => v.raw !== '');
    const bad = fc.oneof(
      fc.constantFrom(...BAD_SEGMENTS),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map(percentEncode),
    ).map((raw) => ({ raw, bad: true }));
    return fc
      .oneof({ weight: 5, arbitrary: own ?? fromSchema }, { weight: 2, arbitrary: fromSchema }, { weight: 1, arbitrary: bad })
      .map((v) => ({ name, ...(v as { raw: string; claimId?: string; bad?: boolean }) }));
  });
  return fc.tuple(...perName).map((values) => {
    let path = op.path;
    let claimId: string | undefined;
    const notes: string[] = [];
    for (const v of values) {
      path = path.replace(`{${v.name}}`, v.raw);
      if (v.name === 'id' && v.claimId) claimId = v.claimId;
      if (v.bad) notes.push(`bad path ${v.name}`);
    }
    return { path, claimId, notes };
  });
}

/** Percent-encodes a value; a lone surrogate (which encodeURIComponent refuses) goes as its WTF-8 bytes, which no UTF-8 decoder takes. */
function percentEncode(value: string): string {
  return [...value]
    .map((ch) => {
      const code = ch.codePointAt(0)!;
      return code >= 0xd800 && code <= 0xdfff
        ? `%${(0xe0 | (code >> 12)).toString(16).toUpperCase()}%${(0x80 | ((code >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`
        : encodeURIComponent(ch);
    })
    .join('');
}

const encodeQueryValue = (v: unknown) => percentEncode(typeof v === 'string' ? v : JSON.stringify(v));

/** Present or absent (absent twice as often), for optional parts. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

function queryArbitrary(ctx: RequestContext, op: Operation) {
  const params = op.parameters.filter((p) => p.in === 'query');
  const one = (p: Parameter) =>
    fc.oneof(
      { weight: 9, arbitrary: schemaArbitrary(ctx.doc, p.schema).map((v) => ({ text: `${p.name}=${encodeQueryValue(v)}`, bad: false })) },
      {
        weight: 2,
        arbitrary: fc
          .oneof(wrongTypeValue, fc.constantFrom(...BAD_DATES))
          .map((v) => ({ text: `${p.name}=${encodeQueryValue(v)}`, bad: true })),
      },
      { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%', '%ED%A0%80', 'a&b', '').map((raw) => ({ text: `${p.name}=${raw}`, bad: true })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(schemaArbitrary(ctx.doc, p.schema), schemaArbitrary(ctx.doc, p.schema))
          .map(([a, b]) => ({ text: `${p.name}=${encodeQueryValue(a)}&${p.name}=${encodeQueryValue(b)}`, bad: true })),
      },
    );
  const parts = params.map((p) => (p.required ? one(p).map((v) => [v]) : sometimes(one(p)).map((v) => (v ? [v] : []))));
  const unknown = fc.oneof(
    { weight: 10, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('unknown=1', 'limit[]=1', '__proto__[x]=1', `x=${'y'.repeat(9000)}`).map((text) => ({ text, bad: true })) },
  );
  return fc.tuple(fc.tuple(...parts), unknown).map(([lists, extra]) => {
    const chosen = [...lists.flat(), ...(extra ? [extra] : [])];
    return { query: chosen.map((c) => c.text).join('&'), bad: chosen.some((c) => c.bad) };
  });
}

function headerArbitrary(op: Operation) {
  const params = op.parameters.filter((p) => p.in === 'header');
  const one = (p: Parameter): fc.Arbitrary<[string, string] | undefined> => {
    const values =
      p.name.toLowerCase() === 'if-match'
        ? fc.oneof(
            { weight: 6, arbitrary: fc.constant(CURRENT_ETAG) },
            { weight: 1, arbitrary: fc.constantFrom('"1"', '"999999"', '*', 'W/"1"', 'garbage', '"1", "2"', '""') },
          )
        : p.name.toLowerCase() === 'if-none-match'
          ? fc.constantFrom(CURRENT_ETAG, '"1"', '*', 'junk')
          : fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }).filter(isHeaderSafe), fc.constant('k'.repeat(4000)));
    const pair = values.map((v) => [p.name, v] as [string, string]);
    return p.required
      ? fc.oneof({ weight: 9, arbitrary: pair }, { weight: 1, arbitrary: fc.constant(undefined) })
      : sometimes(pair);
  };
  return fc.tuple(...params.map(one)).map((pairs) => Object.fromEntries(pairs.filter((p): p is [string, string] => p !== undefined)));
}

/** Characters Node lets into a header value. */
const isHeaderSafe = (s: string) => /^[\x20-\x7e]*$/.test(s);

interface BodyChoice {
  contentType?: string;
  body?: Buffer;
  note: string;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');

function jsonBodyArbitrary(ctx: RequestContext, op: Operation, contentType: string, schema: Schema | undefined) {
  const example = ctx.examples?.(op, contentType);
  const valid = example
    ? fc.oneof({ weight: 2, arbitrary: example }, { weight: 2, arbitrary: schemaArbitrary(ctx.doc, schema) })
    : schemaArbitrary(ctx.doc, schema);
  const exampleOrValid = example ?? schemaArbitrary(ctx.doc, schema);
  return fc.oneof<fc.MaybeWeightedArbitrary<BodyChoice>[]>(
    { weight: 6, arbitrary: valid.map((v) => ({ contentType, body: json(v), note: 'valid body' })) },
    { weight: 4, arbitrary: exampleOrValid.chain((v) => mutate(v)).map((v) => ({ contentType, body: json(v), note: 'malformed body' })) },
    { weight: 1, arbitrary: malformedArbitrary(ctx.doc, schema).map((v) => ({ contentType, body: json(v), note: 'malformed body' })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{',
          '{"a":1,}',
          'null',
          '"\\ud800"',
          '{"__proto__":{"polluted":true}}',
          deeplyNested(10_000, 'array'),
          deeplyNested(10_000, 'object'),
          JSON.stringify({ name: 'x'.repeat(300 * 1024) }),
          '\u0000',
        )
        .map((text) => ({ contentType, body: Buffer.from(text, 'utf8'), note: 'malformed JSON text' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(undefined, 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16'))
        .map(([v, type]) => ({ ...(type ? { contentType: type } : {}), body: json(v), note: `content type ${type ?? 'none'}` })),
    },
  );
}

/** Bytes that sniff as a PDF. */
function pdfBytes(size = 1024): Buffer {
  return factoryPdfBytes(size);
}

interface Part {
  name: string;
  value: string | Buffer;
  fileName?: string;
  contentType?: string;
}

function multipart(parts: Part[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.fileName !== undefined ? `; filename="${part.fileName}"` : ''}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`, 'utf8'),
      typeof part.value === 'string' ? Buffer.from(part.value, 'utf8') : part.value,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function multipartBodyArbitrary(ctx: RequestContext, schemaIn: Schema | undefined) {
  const schema = schemaIn ? deref(ctx.doc, schemaIn) : {};
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const fields = Object.fromEntries(Object.entries(properties).filter(([, s]) => !s.contentMediaType && s.format !== 'binary'));
  const fileFields = Object.keys(properties).filter((name) => !(name in fields));
  const fieldValues = schemaArbitrary(ctx.doc, { ...schema, properties: fields, required: ((schema.required as string[]) ?? []).filter((r) => r in fields) });
  const file = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 20, max: 4096 }).map((n) => ({ bytes: pdfBytes(n), note: 'pdf' })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => ({ bytes: Buffer.from(a), note: 'random bytes' })) },
  );
  const fileName = fc.oneof(fc.constantFrom('sow.pdf', '../../x.pdf', 'ü\u202etxt.exe', '', 'a'.repeat(500)), fc.string({ maxLength: 20 }).filter((s) => !/["\r\n]/.test(s)));
  const toParts = (values: Json, withFile: { bytes: Buffer; note: string } | undefined, name: string): Part[] => [
    ...Object.entries(values).flatMap(([key, value]) =>
      Array.isArray(value) ? value.map((v) => ({ name: key, value: String(v) })) : [{ name: key, value: typeof value === 'string' ? value : JSON.stringify(value) }],
    ),
    ...(withFile ? fileFields.map((f) => ({ name: f, value: withFile.bytes, fileName: name, contentType: 'application/pdf' })) : []),
  ];
  const boundary = fc.stringMatching(/^[A-Za-z0-9]{10,30}$/);
  return fc.oneof<fc.MaybeWeightedArbitrary<BodyChoice>[]>(
    {
      weight: 6,
      arbitrary: fc.tuple(fieldValues, file, fileName, boundary).map(([values, f, name, b]) => ({
        contentType: `multipart/form-data; boundary=${b}`,
        body: multipart(toParts(values as Json, f, name), b),
        note: `valid form (${f.note})`,
      })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fieldValues.chain((v) => mutate(v)), fc.option(file, { nil: undefined }), fileName, boundary)
        .map(([values, f, name, b]) => ({
          contentType: `multipart/form-data; boundary=${b}`,
          body: multipart(toParts((values && typeof values === 'object' && !Array.isArray(values) ? values : { junk: values }) as Json, f, name), b),
          note: 'malformed form fields',
        })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fieldValues, file, boundary, fc.integer({ min: 1, max: 200 })).map(([values, f, b, cut]) => {
        const whole = multipart(toParts(values as Json, f, 'sow.pdf'), b);
        return { contentType: `multipart/form-data; boundary=${b}`, body: whole.subarray(0, Math.max(0, whole.length - cut)), note: 'truncated multipart' };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fieldValues, file, boundary, fc.constantFrom('multipart/form-data', 'multipart/form-data; boundary=other', 'multipart/mixed; boundary=')).map(([values, f, b, type]) => ({
        contentType: type.endsWith('=') ? type + b : type,
        body: multipart(toParts(values as Json, f, 'sow.pdf'), b),
        note: 'wrong multipart boundary or type',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<BodyChoice>(
          { contentType: 'application/json', body: json({ customerSigned: 'true' }), note: 'JSON instead of a form' },
          { body: Buffer.from('garbage'), note: 'no content type' },
          { contentType: 'multipart/form-data; boundary=x', body: Buffer.alloc(0), note: 'empty multipart' },
        ),
    },
  );
}

function textBodyArbitrary(ctx: RequestContext, op: Operation, contentType: string, schema: Schema | undefined) {
  const example = ctx.examples?.(op, contentType);
  const valid = (example ?? schemaArbitrary(ctx.doc, schema)).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return fc.oneof<fc.MaybeWeightedArbitrary<BodyChoice>[]>(
    { weight: 3, arbitrary: valid.map((v) => ({ contentType, body: Buffer.from(v, 'utf8'), note: 'valid text body' })) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom(...NASTY_STRINGS),
          fc.constantFrom('a: &a [*a]', '!!js/function "x"', 'a: b\n  c: d\n-', `${'- '.repeat(5000)}x`, `${'['.repeat(5000)}`),
          fc.string({ unit: 'binary', maxLength: 200 }),
        )
        .map((v) => ({ contentType, body: Buffer.from(v, 'utf8'), note: 'malformed text body' })),
    },
  );
}

function bodyArbitrary(ctx: RequestContext, op: Operation): fc.Arbitrary<BodyChoice | undefined> {
  const content = op.requestBody?.content;
  if (!content) {
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant<BodyChoice>({ contentType: 'application/json', body: Buffer.from('{"unexpected":true}'), note: 'body where none is documented' }) },
    );
  }
  const perType = Object.entries(content).map(([type, media]) => {
    if (type.startsWith('multipart/')) return multipartBodyArbitrary(ctx, media.schema);
    if (type.endsWith('json')) return jsonBodyArbitrary(ctx, op, type, media.schema);
    return textBodyArbitrary(ctx, op, type, media.schema);
  });
  return fc.oneof(
    { weight: 12, arbitrary: fc.oneof(...perType) },
    { weight: 1, arbitrary: fc.constant<BodyChoice>({ note: 'no body' }) },
  );
}

/** Requests for one operation: each part valid or malformed, the body by its documented content types. */
export function requestArbitrary(ctx: RequestContext, op: Operation): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({ path: pathArbitrary(ctx, op), query: queryArbitrary(ctx, op), headers: headerArbitrary(op), body: bodyArbitrary(ctx, op) })
    .map(({ path, query, headers, body }) => {
      const all: Record<string, string> = { ...headers };
      if (body?.contentType) all['content-type'] = body.contentType;
      return {
        method: op.method.toUpperCase(),
        target: path.path + (query.query ? `?${query.query}` : ''),
        headers: all,
        ...(body?.body ? { body: body.body } : {}),
        ...(path.claimId ? { claimId: path.claimId } : {}),
        note: [...path.notes, ...(query.bad ? ['malformed query'] : []), ...(body ? [body.note] : [])],
      };
    });
}

// ---- Sending ----

export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends the request as is (the target is not re-encoded); resolves with the whole answer. */
export function sendRaw(base: { host: string; port: number }, req: FuzzRequest, timeoutMs = 15_000): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body) headers['content-length'] = req.body.length;
    const outgoing = httpRequest({ host: base.host, port: base.port, method: req.method, path: req.target, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

// ---- Checking answers ----

const DOC_ID = 'https://cpor.test/openapi.json';
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export interface ResponseCheckerOptions {
  /**
   * Judge the answer by the document alone: a 5xx, or an error that is not problem+json, passes
   * when the operation documents it (/readyz's 503 application/json, say). By default both are
   * issues whatever the document says (the fuzz suite: no request may cause a 5xx).
   */
  documentedOnly?: boolean;
}

/** What is wrong with an answer to `op`, by its documentation; empty when nothing is. */
export function createResponseChecker(doc: Json, options: ResponseCheckerOptions = {}) {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false, allowUnionTypes: true });
  (addFormatsPlugin as unknown as (a: Ajv2020) => Ajv2020)(ajv);
  ajv.addSchema({ ...doc, $id: DOC_ID }, undefined, undefined, false);
  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (ref: string) => {
    let v = validators.get(ref);
    if (!v) validators.set(ref, (v = ajv.compile({ $ref: `${DOC_ID}#/${ref}` })));
    return v;
  };

  return (op: Operation, res: FuzzResponse): string[] => {
    const issues: string[] = [];
    const contentType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (res.status >= 500 && !options.documentedOnly) issues.push(`answered ${res.status} (no request may cause a 5xx)`);
    if (res.status >= 400 && contentType !== 'application/problem+json' && !options.documentedOnly) {
      issues.push(`an error answer must be application/problem+json, got "${contentType || '(none)'}"`);
    }
    let response = op.responses[String(res.status)] ?? op.responses.default;
    let at = pointer('paths', op.path, op.method, 'responses', String(res.status));
    if (!response) {
      issues.push(`status ${res.status} is not documented for ${op.operationId} (documented: ${Object.keys(op.responses).join(', ')})`);
      return issues;
    }
    if (typeof response.$ref === 'string') {
      at = (response.$ref as string).slice(2);
      response = deref(doc, response);
    }
    const content = response.content as Record<string, { schema?: Schema }> | undefined;
    if (!content) {
      if (res.body.length > 0) issues.push(`status ${res.status} documents no body, got ${res.body.length} bytes`);
      return issues;
    }
    const media = content[contentType];
    if (!media) {
      issues.push(`content type "${contentType || '(none)'}" is not documented for ${res.status} (documented: ${Object.keys(content).join(', ')})`);
      return issues;
    }
    if (!media.schema) return issues;
    let value: unknown;
    if (contentType.endsWith('json')) {
      try {
        value = JSON.parse(res.body.toString('utf8'));
      } catch {
        issues.push(`the ${contentType} body is not JSON`);
        return issues;
      }
    } else if (contentType.startsWith('text/')) {
      value = res.body.toString('utf8');
    } else {
      return issues; // binary: nothing to validate against a string schema
    }
    const validate = validatorAt(`${at}/${pointer('content', contentType, 'schema')}`);
    if (!validate(value)) {
      const first = validate.errors?.[0];
      issues.push(
        `the body does not match the documented schema: ${first?.instancePath || '/'} ${first?.message ?? ''} (schema ${first?.schemaPath ?? '?'}${
          first?.params ? ` ${JSON.stringify(first.params)}` : ''
        })`,
      );
    }
    return issues;
  };
}

/** A request and its answer, short enough to read in a failure message. */
export function describeExchange(req: FuzzRequest, res: FuzzResponse | undefined, caller: string): string {
  const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${clip(v, 80)}`)
    .join('; ');
  const lines = [
    `as ${caller}: ${req.method} ${clip(req.target, 200)}`,
    `  request headers: ${headers || '(none)'}`,
    `  request body: ${req.body ? clip(JSON.stringify(req.body.toString('utf8')), 1500) : '(none)'}`,
    `  kind: ${req.note.join(', ') || 'valid request'}`,
  ];
  if (res) {
    lines.push(`  answer: ${res.status} ${String(res.headers['content-type'] ?? '(no content type)')}`);
    lines.push(`  answer body: ${clip(res.body.toString('utf8'), 600)}`);
  }
  return lines.join('\n');
}
