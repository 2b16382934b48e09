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

const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Parses a JSON body (`application/json` or `application/*+json`) up to `limit` bytes; undefined body becomes `{}`. */
export function jsonBody(limit: number): RequestHandler[] {
  const parse = express.json({
    limit,
    strict: true,
    type: ['application/json', 'application/*+json'],
    verify: (req, _res, buf) => {
      rawBodies.set(req, Buffer.from(buf));
    },
  });
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
      throw new HttpError(
        415,
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
