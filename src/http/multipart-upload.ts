/**
 * Reads a multipart/form-data PoE upload with busboy: one file part, a handful of
 * text fields, and a size limit enforced while streaming (exactly the limit passes).
 */
import type { Request } from 'express';
import busboy from 'busboy';
import { InputError } from '../domain/errors';
import { HttpError, type ProblemIssue } from './errors';

export interface UploadedFile {
  /** The name the client gave (not yet sanitised). */
  name: string;
  content: Buffer;
}

export interface ParsedUpload {
  fields: Map<string, string[]>;
  file: UploadedFile | undefined;
}

export interface UploadLimits {
  /** Largest file accepted, in bytes. */
  fileBytes: number;
  /** The part that carries the file. */
  fileField: string;
  /** Names of the text fields accepted. */
  fields: readonly string[];
}

/** Room for the multipart framing and the text fields around the file. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const tooLarge = (limit: number) =>
  new HttpError(413, 'poeTooLarge', `A PoE file may be at most ${limit} bytes.`, { limit });

/** Parses the upload; a file over the limit is a 413, a malformed form or an unknown part a 400. */
export function parseUpload(req: Request, limits: UploadLimits): Promise<ParsedUpload> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(
      new HttpError(415, 'unsupportedMediaType', `Upload the file as multipart/form-data with a "${limits.fileField}" part.`),
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.fileBytes + MULTIPART_OVERHEAD_BYTES) {
    return Promise.reject(tooLarge(limits.fileBytes));
  }

  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // Browsers send file names as raw UTF-8 bytes.
        defParamCharset: 'utf8',
        // One byte more than the limit: busboy flags a file as truncated when it *reaches* fileSize.
        limits: { fileSize: limits.fileBytes + 1, files: 1, fields: 50, parts: 51, fieldSize: 16 * 1024, fieldNameSize: 200 },
      });
    } catch (error) {
      reject(new InputError('malformedMultipart', `The multipart body cannot be read: ${(error as Error).message}.`, '$'));
      return;
    }
    const fields = new Map<string, string[]>();
    const issues: ProblemIssue[] = [];
    let file: UploadedFile | undefined;
    let failure: Error | undefined;
    let fileRead: Promise<void> = Promise.resolve();
    const fail = (error: Error) => (failure ??= error);

    parser.on('file', (name, stream, info) => {
      if (name !== limits.fileField || file) {
        issues.push({ path: `$.${name}`, message: name === limits.fileField ? 'only one file may be uploaded' : 'unknown part' });
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done!: () => void;
      fileRead = new Promise((resolveRead) => (done = resolveRead));
      stream.on('close', () => done());
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limits.fileBytes) chunks.push(chunk);
      });
      stream.on('limit', () => fail(tooLarge(limits.fileBytes)));
      stream.on('end', () => {
        if (size > limits.fileBytes) fail(tooLarge(limits.fileBytes));
        else file = { name: formFileName(info.filename ?? ''), content: Buffer.concat(chunks, size) };
      });
    });
    parser.on('field', (name, value, info) => {
      if (!limits.fields.includes(name)) {
        issues.push({ path: `$.${name}`, message: 'unknown field' });
        return;
      }
      if (info.valueTruncated) issues.push({ path: `$.${name}`, message: 'is too long' });
      fields.set(name, [...(fields.get(name) ?? []), value]);
    });
    parser.on('filesLimit', () => issues.push({ path: `$.${limits.fileField}`, message: 'only one file may be uploaded' }));
    parser.on('fieldsLimit', () => issues.push({ path: '$', message: 'too many fields' }));
    parser.on('partsLimit', () => issues.push({ path: '$', message: 'too many parts' }));
    parser.on('error', (error: Error) => {
      req.unpipe(parser);
      req.resume();
      reject(failure ?? new InputError('malformedMultipart', `The multipart body cannot be read: ${error.message}.`, '$'));
    });
    parser.on('close', async () => {
      await fileRead;
      if (failure) return reject(failure);
      if (issues.length > 0) {
        const first = issues[0]!;
        return reject(new InputError('invalidPayload', `The upload is not valid: ${first.path}: ${first.message}.`, first.path, { errors: issues }));
      }
      resolve({ fields, file });
    });
    req.on('error', (error) => reject(error));
    req.on('aborted', () => reject(new InputError('requestAborted', 'The upload was aborted before it ended.', '$')));
    req.pipe(parser);
  });
}

/** Undoes the escapes the HTML form encoding applies to file names (`"` → %22, CR → %0D, LF → %0A). */
export function formFileName(name: string): string {
  return name.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}
