/**
 * JSON request bodies: parsed with a size limit, the raw bytes kept for idempotency
 * hashing, and anything that is not JSON refused instead of silently ignored.
 */
import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { HttpError } from './errors';

const rawBodies = new WeakMap<IncomingMessage, Buffer>();

/** The bytes of the request body as received (empty when there was none). */
export function rawBodyOf(req: IncomingMessage): Buffer {
  return rawBodies.get(req) ?? Buffer.alloc(0);
}

/** Deepest nesting of arrays and objects a JSON body may have; deeper is refused before it is parsed. */
const MAX_JSON_DEPTH = 64;

/** How deep `bytes` (JSON text) nests, counted without parsing (strings skipped); stops counting past `max`. */
function jsonDepthExceeds(bytes: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** body-parser's `verify`: refuses (400 jsonTooDeep) a body nested deeper than MAX_JSON_DEPTH, before JSON.parse. */
export function refuseDeepJson(buf: Buffer): void {
  if (jsonDepthExceeds(buf, MAX_JSON_DEPTH)) {
    throw new HttpError('jsonTooDeep', `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`, {
      errors: [{ path: '$', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }],
    });
  }
}

/** Content-Type values that are JSON as written (type-is would say so after parsing them). */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8']);

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Parses a JSON body (`application/json` or `application/*+json`) up to `limit` bytes; undefined body becomes `{}`. */
export function jsonBody(limit: number): RequestHandler[] {
  const parse = express.json({
    limit,
    strict: true,
    type: ['application/json', 'application/*+json'],
    verify: (req, _res, buf) => {
      refuseDeepJson(buf);
      rawBodies.set(req, Buffer.from(buf));
    },
  });
  const requireJson: RequestHandler = (req, _res, next) => {
    // The usual header needs no parsing; any other goes through type-is.
    if (hasBody(req) && !PLAIN_JSON.has(req.headers['content-type'] ?? '') && !req.is(['application/json', 'application/*+json'])) {
      throw new HttpError(
        'unsupportedMediaType',
        `This endpoint takes a JSON body (Content-Type: application/json), not ${req.get('content-type') ?? 'an untyped body'}.`,
      );
    }
    next();
  };
  const defaultEmpty: RequestHandler = (req, _res, next) => {
    req.body ??= {};
    next();
  };
  return [requireJson, parse, defaultEmpty];
}
