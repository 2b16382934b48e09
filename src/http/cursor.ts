/** List cursors: the keyset position `{createdAt, id}` as opaque base64url. */
import type { ClaimCursor } from '../claims/claim-store';
import { InputError } from '../domain/errors';

export function encodeCursor(position: ClaimCursor): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor this API gave out; anything else is a 400 at `$.cursor`. */
export function decodeCursor(cursor: string): ClaimCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) {
      const [createdAt, id] = value as [string, string];
      if (!Number.isNaN(Date.parse(createdAt))) return { createdAt, id };
    }
  } catch {
    // falls through to the refusal
  }
  throw new InputError('invalidCursor', 'The cursor is not one this API gave out; use nextCursor from a previous page.', '$.cursor');
}
