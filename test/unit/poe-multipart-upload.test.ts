import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { parseUpload, type UploadLimits } from '../../src/http/multipart-upload';
import type { StagedFile } from '../../src/poe/poe-file-store';

const BOUNDARY = 'unitBoundary';

/** A request-shaped stream with multipart headers, as parseUpload reads it. */
function fakeRequest(): PassThrough & Request {
  const req = new PassThrough() as unknown as PassThrough & Request;
  Object.assign(req, {
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    is: (type: string) => (type === 'multipart/form-data' ? type : false),
  });
  return req;
}

/** Writes the body in 16 KiB pieces, waiting whenever the request asks it to (as a socket would). */
async function send(req: PassThrough, parts: Buffer[], options: { end?: boolean } = {}) {
  for (const part of parts) {
    for (let at = 0; at < part.length; at += 16 * 1024) {
      if (!req.write(part.subarray(at, at + 16 * 1024))) await once(req, 'drain');
    }
  }
  if (options.end !== false) req.end();
}

const fileHead = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="customerSigned"\r\n\r\ntrue\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="sow.pdf"\r\n\r\n`,
);
const closing = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A stage that reads the file part slowly and counts what waits in it, and whether it was discarded. */
function slowStage() {
  const seen = { bytes: 0, maxBuffered: 0, discarded: 0 };
  const stage = async (source: Readable): Promise<StagedFile> => {
    for await (const chunk of source) {
      seen.bytes += (chunk as Buffer).length;
      seen.maxBuffered = Math.max(seen.maxBuffered, source.readableLength);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return {
      sha256: 'f'.repeat(64),
      size: seen.bytes,
      inspect: async () => undefined as never,
      commit: async () => ({ sha256: 'f'.repeat(64), size: seen.bytes }),
      discard: async () => {
        seen.discarded++;
      },
    };
  };
  return { seen, stage };
}

const limits = (stage: UploadLimits['stage'], fileBytes = 16 * 1024 * 1024): UploadLimits => ({
  fileBytes,
  fileField: 'file',
  fields: ['customerSigned'],
  stage,
  idleMs: 60_000,
  totalMs: 600_000,
});

describe('parseUpload', () => {
  it('hands an 8 MiB file part to the stage as it arrives, with at most a few chunks waiting in between', async () => {
    const { seen, stage } = slowStage();
    const req = fakeRequest();
    const parsed = parseUpload(req, limits(stage));
    const file = Buffer.alloc(8 * 1024 * 1024, 0x41);
    await send(req, [fileHead, file, closing]);
    const upload = await parsed;
    expect(upload.file?.staged.size).toBe(file.length);
    expect(upload.fields.get('customerSigned')).toEqual(['true']);
    expect(seen.bytes).toBe(file.length);
    // Busboy's part stream holds at most its high-water mark (64 KiB) plus the chunk in hand.
    expect(seen.maxBuffered).toBeLessThanOrEqual(256 * 1024);
    expect(req.readableLength + req.writableLength).toBeLessThanOrEqual(64 * 1024);
  });

  it('a body that ends inside the file part is a malformedMultipart input error, never an unhandled error', async () => {
    const { stage } = slowStage();
    const req = fakeRequest();
    const parsed = parseUpload(req, limits(stage));
    await send(req, [fileHead, Buffer.alloc(100_000, 0x41)]);
    await expect(parsed).rejects.toMatchObject({ code: 'malformedMultipart', kind: 'input' });
  });

  it('a form refused after its file was staged discards the staged file', async () => {
    const { seen, stage } = slowStage();
    const req = fakeRequest();
    const parsed = parseUpload(req, limits(stage));
    const unknown = Buffer.from(`\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="approvedBy"\r\n\r\nme`);
    await send(req, [fileHead, Buffer.alloc(10_000, 0x41), unknown, closing]);
    await expect(parsed).rejects.toMatchObject({ code: 'invalidPayload' });
    expect(seen.discarded).toBe(1);
  });

  it('a file over the limit is a 413 and its staged part is discarded', async () => {
    const { seen, stage } = slowStage();
    const req = fakeRequest();
    const parsed = parseUpload(req, limits(stage, 50_000));
    await send(req, [fileHead, Buffer.alloc(50_001, 0x41), closing]);
    await expect(parsed).rejects.toMatchObject({ status: 413, code: 'poeTooLarge' });
    expect(seen.discarded).toBe(1);
  });
});
