import { readdirSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/error-codes';
import { ConflictError, DomainError, InputError, NotFoundError } from '../../src/domain/errors';
import { HttpError, problemFor } from '../../src/http/errors';
import { withVersionCheck } from '../../src/http/etag';
import { buildOpenApi } from '../../src/http/openapi';
import { bundledPolicy } from '../support/bundled-policy';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');
const CATALOG = join(SRC, 'domain', 'error-codes.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** The first argument of a call, from just after its `(` to its first top-level comma. */
function firstArgument(text: string, from: number): string {
  let depth = 0;
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0) return text.slice(from, i);
      depth--;
    } else if (c === ',' && depth === 0) return text.slice(from, i);
  }
  return text.slice(from);
}

/** String literals an argument can evaluate to: the whole literal, or the branches of a conditional. */
const literalsOf = (argument: string) => [...argument.matchAll(/(?:^|[?:])\s*'(\w+)'/g)].map((m) => m[1]!);

interface Use {
  code: string;
  where: string;
}

/** Every error code written as a literal in src/: constructor arguments, refusals, the problem mappers' codes. */
function codeLiteralsInSource(): Use[] {
  const uses: Use[] = [];
  for (const file of sourceFiles(SRC)) {
    if (file === CATALOG) continue;
    const text = readFileSync(file, 'utf8');
    const where = (index: number) => `${relative(SRC, file)}:${text.slice(0, index).split('\n').length}`;
    for (const m of text.matchAll(/new (InputError|NotAllowedError|NotFoundError|ConflictError|UnauthenticatedError|HttpError|DomainError)\(/g)) {
      let start = m.index + m[0].length;
      // DomainError's first argument is its kind; the code is the second.
      if (m[1] === 'DomainError') start += firstArgument(text, start).length + 1;
      for (const code of literalsOf(firstArgument(text, start).trim())) uses.push({ code, where: where(m.index) });
    }
    // A refusal: `code` beside a `kind` of the machine's refusals, in either order.
    for (const m of text.matchAll(/code: '(\w+)',\s*kind: '(?:input|notAllowed|conflict)'|kind: '(?:input|notAllowed|conflict)',\s*code: '(\w+)'/g)) {
      uses.push({ code: (m[1] ?? m[2])!, where: where(m.index) });
    }
    // The problem mappers of the HTTP edge (body-parser, Node's parser, faults): `code: '…'` in a returned problem.
    if (relative(SRC, file).startsWith('http')) {
      for (const m of text.matchAll(/return \{\s*code: '(\w+)'/g)) uses.push({ code: m[1]!, where: where(m.index) });
    }
  }
  return uses;
}

describe('error-code catalog', () => {
  it('gives every code one HTTP error status and a sentence', () => {
    const bad = Object.entries(ERROR_CODES).filter(
      ([, { status, summary }]) =>
        !(Number.isInteger(status) && status >= 400 && status <= 599 && STATUS_CODES[status]) || !/^[A-Z].*[.]$/.test(summary),
    );
    expect(bad).toEqual([]);
    expect(Object.keys(ERROR_CODES).length).toBeGreaterThan(60);
  });

  it('holds every code literal that src/ passes to an error or a refusal (a free-string code fails here)', () => {
    const uses = codeLiteralsInSource();
    expect(uses.length).toBeGreaterThan(80);
    expect(uses.filter(({ code }) => !Object.hasOwn(ERROR_CODES, code))).toEqual([]);
  });

  it('holds no code that src/ never answers', () => {
    const text = sourceFiles(SRC)
      .filter((file) => file !== CATALOG)
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    expect(Object.keys(ERROR_CODES).filter((code) => !text.includes(`'${code}'`))).toEqual([]);
  });

  it('the type system refuses a code outside the catalog, and a class given a code of another status', () => {
    const unknown = () =>
      // @ts-expect-error: 'noSuchCode' is not in the catalog
      new InputError('noSuchCode', 'x');
    const wrongClass = () =>
      // @ts-expect-error: claimNotFound is a 404, not a 400
      new InputError('claimNotFound', 'x');
    const unknownAtTheEdge = () =>
      // @ts-expect-error: HttpError takes a catalog code, not a status
      new HttpError(404, 'routeNotFound', 'x');
    // Should one get past the compiler (from JavaScript), it is answered as the fault it is.
    expect(problemFor(unknown(), '/').status).toBe(500);
    expect(problemFor(unknownAtTheEdge(), '/').status).toBe(500);
    expect(problemFor(wrongClass(), '/').status).toBe(404);
    const code: ErrorCode = 'claimNotFound';
    expect(new NotFoundError(code, 'x').code).toBe('claimNotFound');
  });
});

describe('problem statuses come from the catalog', () => {
  it('answers each code with its catalog status, whatever the error class', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    const answered = codes.map((code) => [code, problemFor(new DomainError('input', code, 'x'), '/').status]);
    expect(answered).toEqual(codes.map((code) => [code, ERROR_CODES[code].status]));
    expect(problemFor(new HttpError('workersBusy', 'x'), '/')).toMatchObject({ status: 503, title: 'Service Unavailable', code: 'workersBusy' });
  });

  it('a concurrent write is 409 versionConflict, and 412 staleVersion when the caller sent If-Match', async () => {
    const race = () => Promise.reject(new ConflictError('versionConflict', 'Claim c-1 changed meanwhile; reload it and try again.'));
    const withoutIfMatch = await withVersionCheck(undefined, race).catch((error: unknown) => problemFor(error, '/v1/claims/c-1'));
    expect(withoutIfMatch).toMatchObject({ status: 409, code: 'versionConflict' });
    const withIfMatch = await withVersionCheck(3, race).catch((error: unknown) => problemFor(error, '/v1/claims/c-1'));
    expect(withIfMatch).toMatchObject({ status: 412, code: 'staleVersion', detail: 'Claim c-1 changed meanwhile; reload it and try again.' });
  });

  it('a stale expected version the service sees is 412 staleVersion, like a stale If-Match', async () => {
    const stale = () => Promise.reject(new DomainError('preconditionFailed', 'staleVersion', 'Claim c-1 is at version 4, not 3.'));
    expect(problemFor(await withVersionCheck(3, stale).catch((e: unknown) => e), '/')).toMatchObject({ status: 412, code: 'staleVersion' });
    expect(problemFor(await withVersionCheck(undefined, stale).catch((e: unknown) => e), '/')).toMatchObject({ status: 412, code: 'staleVersion' });
  });
});

describe('openapi.json lists the catalog', () => {
  it('the Problem schema\'s code is one of the catalog\'s, and x-error-codes gives each its status and meaning', async () => {
    const doc = buildOpenApi([], await bundledPolicy()) as {
      'x-error-codes': Record<string, { status: number; summary: string }>;
      components: { schemas: { Problem: { properties: { code: { enum: string[] } } } } };
    };
    expect(doc.components.schemas.Problem.properties.code.enum).toEqual(Object.keys(ERROR_CODES));
    expect(doc['x-error-codes'].staleVersion).toEqual({ status: 412, summary: expect.stringContaining('If-Match') });
    expect(doc['x-error-codes'].versionConflict).toMatchObject({ status: 409 });
  });
});
