/**
 * Reads a multipart/form-data PoE upload with busboy: one file part, streamed to a staged
 * temp file as it arrives (never held in memory), a handful of text fields, a size limit
 * enforced while streaming (exactly the limit passes), and time limits for slow clients.
 */
import type { Readable } from 'node:stream';
import type { Request } from 'express';
import busboy from 'busboy';
import { InputError } from '../domain/errors';
import type { StagedFile } from '../poe/poe-file-store';
import { HttpError, type ProblemIssue } from './errors';

export interface UploadedFile {
  /** The name the client gave (not yet sanitised). */
  name: string;
  /** The bytes, staged on disk: the caller commits or discards them. */
  staged: StagedFile;
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
  /** Writes the file part somewhere (a temp file) as it arrives. */
  stage: (source: Readable) => Promise<StagedFile>;
  /** The longest the client may send nothing, in ms (408 past it). */
  idleMs: number;
  /** The longest the whole body may take, in ms (408 past it). */
  totalMs: number;
}

/** Room for the multipart framing and the text fields around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const tooLarge = (limit: number) =>
  new HttpError('poeTooLarge', `A PoE file may be at most ${limit} bytes.`, { limit });

const malformed = (error: Error) =>
  new InputError('malformedMultipart', `The multipart body cannot be read: ${error.message}.`, '$');

/**
 * Parses the upload; a file over the limit is a 413, a malformed or truncated form or an
 * unknown part a 400, a client too slow a 408. When it rejects, nothing it staged is left.
 */
export function parseUpload(req: Request, limits: UploadLimits): Promise<ParsedUpload> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(
      new HttpError('unsupportedMediaType', `Upload the file as multipart/form-data with a "${limits.fileField}" part.`),
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
      reject(malformed(error as Error));
      return;
    }
    const fields = new Map<string, string[]>();
    const issues: ProblemIssue[] = [];
    let fileName: string | undefined;
    let fileStream: Readable | undefined;
    let staging: Promise<StagedFile> | undefined;
    let failure: Error | undefined;
    let settled = false;
    const fail = (error: Error) => (failure ??= error);

    const timers: NodeJS.Timeout[] = [];
    const stopTimers = () => timers.splice(0).forEach((timer) => clearTimeout(timer));
    const slow = (message: string) => () =>
      abort(new HttpError('uploadTimeout', message, { idleMs: limits.idleMs, totalMs: limits.totalMs }));
    const idle = setTimeout(slow(`The upload sent nothing for ${limits.idleMs} ms.`), limits.idleMs);
    timers.push(idle, setTimeout(slow(`The upload took longer than ${limits.totalMs} ms.`), limits.totalMs));
    const onData = () => {
      idle.refresh();
    };

    /** Settles once: on failure, waits for the file part to stop and removes what it staged. */
    const settle = async (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      stopTimers();
      req.off('data', onData);
      const staged = await staging?.catch(() => undefined);
      if (error) {
        await staged?.discard();
        reject(error);
      } else {
        resolve({ fields, file: staged && { name: formFileName(fileName ?? ''), staged } });
      }
    };
    /** Stops reading the body (what is left of it is not wanted) and fails. */
    const abort = (error: Error) => {
      if (settled) return;
      fail(error);
      req.unpipe(parser);
      fileStream?.destroy(error);
      void settle(failure);
    };

    parser.on('file', (name, stream, info) => {
      // Busboy destroys a part's stream with an error when the body ends inside it.
      stream.on('error', () => undefined);
      if (name !== limits.fileField || fileStream) {
        issues.push({ path: `$.${name}`, message: name === limits.fileField ? 'only one file may be uploaded' : 'unknown part' });
        stream.resume();
        return;
      }
      fileStream = stream;
      fileName = info.filename ?? '';
      let streamError: Error | undefined;
      stream.on('error', (error: Error) => (streamError = error));
      stream.on('limit', () => fail(tooLarge(limits.fileBytes)));
      staging = limits.stage(stream);
      // The part broke off (a truncated body: the parser's own error says so as well) or the disk failed.
      staging.catch((error: Error) => abort(error === streamError ? malformed(error) : error));
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
      fileStream?.destroy(error);
      void settle(failure ?? malformed(error));
    });
    parser.on('close', async () => {
      // A staging that fails settles through abort.
      if (!(await staging?.then(() => true, () => false) ?? true)) return;
      if (failure) return settle(failure);
      if (issues.length > 0) {
        const first = issues[0]!;
        return settle(new InputError('invalidPayload', `The upload is not valid: ${first.path}: ${first.message}.`, first.path, { errors: issues }));
      }
      return settle(undefined);
    });
    req.on('data', onData);
    // The client went away (a reset, a closed connection): its fault, never the service's.
    const aborted = () => abort(new InputError('requestAborted', 'The upload was aborted before it ended.', '$'));
    req.on('error', aborted);
    req.on('aborted', aborted);
    req.pipe(parser);
  });
}

/** Undoes the escapes the HTML form encoding applies to file names (`"` → %22, CR → %0D, LF → %0A). */
function formFileName(name: string): string {
  return name.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}
