/**
 * The claim's version as its ETag, and `If-Match`: writes that need it answer 428
 * without it and 412 when it names a version that is not the current one.
 *
 * A read (GET /v1/claims/{id}) answers what the claim looks like now: its time left, at-risk
 * and overdue marks, live deficiencies and allowed actions change as time passes, and a
 * reviewer's conflicts change with other claims, all without a new version. Its ETag is
 * therefore `"<version>-<digest of the body>"`, so `If-None-Match` answers 304 only while
 * the answer is byte for byte the one the client holds. `If-Match` compares the version
 * part alone: a write needs the claim unchanged, not the clock.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { DomainError, InputError } from '../domain/errors';
import type { HeaderParameter } from './route-spec';

/** `"<version>"`: a strong entity tag. */
export const etagOf = (version: number) => `"${version}"`;

/** A read's strong tag: the version and a digest of the JSON body sent (see above). */
export const representationTag = (version: number, body: unknown) =>
  `"${version}-${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 22)}"`;

/** Whether `If-None-Match` (a list of tags, or `*`) names `tag`, by weak comparison (RFC 9110 §13.1.2). */
export function noneMatchHits(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((part) => part.trim().replace(/^W\//, '') === tag);
}

type IfMatch = { any: true } | { any: false; versions: number[] };

/** Parses `If-Match` (a list of strong tags, or `*`); undefined when absent. Weak tags never match (RFC 9110 §13.1.1). */
function parseIfMatch(header: string | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return { any: true };
  const versions: number[] = [];
  for (const part of value.split(',')) {
    const tag = part.trim();
    // A write's tag ("3") or a read's ("3-<digest>"): the version part is compared.
    const strong = /^"(\d{1,15})(?:-[A-Za-z0-9_-]{1,64})?"$/.exec(tag);
    if (strong) versions.push(Number(strong[1]));
    else if (!/^W\/"[^"]*"$/.test(tag) && !/^"[^"]*"$/.test(tag)) {
      throw new InputError(
        'invalidIfMatch',
        `If-Match must be an entity tag as the ETag header gives it (for example "3"), not ${JSON.stringify(tag)}.`,
        '$.headers["if-match"]',
      );
    }
  }
  return { any: false, versions };
}

/**
 * Checks `If-Match` against the claim's current version before acting. Returns the
 * version to pass to the service as `expectedVersion` (so a race is still caught),
 * or undefined when the header is `*` or absent and not required.
 */
export function checkIfMatch(req: Request, current: number, { required }: { required: boolean }): number | undefined {
  const ifMatch = parseIfMatch(req.get('if-match'));
  if (!ifMatch) {
    if (!required) return undefined;
    throw new DomainError(
      'preconditionRequired',
      'ifMatchRequired',
      `Send If-Match with the claim's ETag (now ${etagOf(current)}) so that a change made meanwhile is not overwritten.`,
    );
  }
  if (ifMatch.any) return undefined;
  if (!ifMatch.versions.includes(current)) throw stale(current);
  return current;
}

/** Whether `If-Match` is present at all (checked before anything is loaded). */
export function requireIfMatchHeader(req: Request): void {
  if (req.get('if-match') === undefined) {
    throw new DomainError(
      'preconditionRequired',
      'ifMatchRequired',
      "Send If-Match with the claim's ETag so that a change made meanwhile is not overwritten.",
    );
  }
}

const stale = (current: number) =>
  new DomainError(
    'preconditionFailed',
    'staleVersion',
    `The claim has changed: it is now at ${etagOf(current)}. Reload it and try again.`,
    undefined,
    { currentVersion: current },
  );

/**
 * Runs a write. When the caller sent If-Match, a version race the service or the store
 * detects (staleVersion, versionConflict) answers 412 staleVersion like a stale If-Match;
 * without it, a concurrent write stays 409 versionConflict (see domain/error-codes.ts).
 */
export async function withVersionCheck<T>(expectedVersion: number | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (
      expectedVersion !== undefined &&
      error instanceof DomainError &&
      (error.code === 'staleVersion' || error.code === 'versionConflict')
    ) {
      throw new DomainError('preconditionFailed', 'staleVersion', error.message);
    }
    throw error;
  }
}

export const IF_MATCH: HeaderParameter = {
  name: 'If-Match',
  required: true,
  description: 'The ETag of the claim as you last read it; 428 without it, 412 when the claim has changed since.',
};
export const IF_MATCH_OPTIONAL: HeaderParameter = {
  ...IF_MATCH,
  required: false,
  description: 'The ETag of the claim as you last read it (optional); 412 when the claim has changed since.',
};
