/**
 * Proof-of-execution files: upload (multipart, size-limited, type checked by content,
 * name sanitised, stored before the claim records it) and download.
 */
import { pipeline } from 'node:stream';
import type { ClaimRecord } from '../claims/claim-record';
import { refusalError, type ActResult, type ClaimService } from '../claims/claim-service';
import { InputError, NotFoundError } from '../domain/errors';
import type { Refusal } from '../machines/guards';
import type { Actor, ClaimEvent } from '../domain/claim-types';
import { refusalBeforePayload } from '../machines/claim-machine';
import { EVENT_PAYLOAD_SCHEMAS } from '../machines/event-payloads';
import { ALLOWED_POE_TYPES } from '../poe/allowed-poe-types';
import { sanitizeFileName } from '../poe/sanitize-file-name';
import { sniffContentType } from '../poe/sniff-content-type';
import { loadVisibleClaim } from './access';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { HttpError, type ProblemIssue } from './errors';
import { checkIfMatch, IF_MATCH_OPTIONAL, withVersionCheck } from './etag';
import { IDEMPOTENCY_KEY, keepAnswer, requestHash, runIdempotently, sendAnswer, type Answer } from './idempotency';
import { parseUpload, type ParsedUpload } from './multipart-upload';
import { param, type RouteSpec } from './route-spec';
import { validateInput } from './validation';
import { poePath, poeView, poeViewSchema } from './views';

const uploadSchema = EVENT_PAYLOAD_SCHEMAS.uploadPoe;
const FILE_FIELD = 'file';
/** What a 503 for too many uploads at once tells the client to wait. */
const RETRY_AFTER_SECONDS = 5;
const TEXT_FIELDS = ['customerSigned', 'signedOn', 'products', 'describesWork'] as const;

/** The multipart form, documented from the uploadPoe payload schema it is turned into. */
const uploadFormSchema = {
  type: 'object',
  required: [FILE_FIELD, 'customerSigned', 'products', 'describesWork'],
  properties: {
    [FILE_FIELD]: {
      type: 'string',
      contentMediaType: 'application/octet-stream',
      description: `The document. Its type is taken from its content, not its name or Content-Type: ${ALLOWED_POE_TYPES.map((t) => t.description).join(', ')}.`,
    },
    customerSigned: { enum: ['true', 'false'], description: uploadSchema.properties.customerSigned.description },
    signedOn: uploadSchema.properties.signedOn,
    products: {
      type: 'array',
      items: uploadSchema.properties.products.items,
      description: `${uploadSchema.properties.products.description} Repeat the field, or separate codes with commas.`,
    },
    describesWork: { enum: ['true', 'false'], description: uploadSchema.properties.describesWork.description },
  },
} as const;

/** `attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>` (RFC 6266, RFC 8187). */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The uploadPoe payload the form's text fields describe (file name added later). */
function formPayload(upload: ParsedUpload): Record<string, unknown> {
  const issues: ProblemIssue[] = [];
  const single = (name: string): string | undefined => {
    const values = upload.fields.get(name);
    if (values && values.length > 1) issues.push({ path: `$.${name}`, message: 'must be given once' });
    return values?.[0];
  };
  const flag = (name: string): boolean | undefined => {
    const value = single(name)?.trim().toLowerCase();
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    issues.push({ path: `$.${name}`, message: 'must be true or false' });
    return undefined;
  };
  const payload: Record<string, unknown> = {};
  const customerSigned = flag('customerSigned');
  if (customerSigned !== undefined) payload.customerSigned = customerSigned;
  const signedOn = single('signedOn')?.trim();
  if (signedOn) payload.signedOn = signedOn;
  const products = upload.fields.get('products');
  if (products) payload.products = products.flatMap((v) => v.split(',')).map((p) => p.trim()).filter(Boolean);
  const describesWork = flag('describesWork');
  if (describesWork !== undefined) payload.describesWork = describesWork;
  if (!upload.file) issues.push({ path: `$.${FILE_FIELD}`, message: `"${FILE_FIELD}" is required` });
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new InputError('invalidPayload', `The upload is not valid: ${first.path}: ${first.message}.`, first.path, { errors: issues });
  }
  return payload;
}

/** What a retry must repeat to be the same upload: the fields and the file's bytes (not the multipart boundary). */
function uploadHash(method: string, path: string, upload: ParsedUpload): string {
  const fields = [...upload.fields.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const file = upload.file && { name: upload.file.name, sha256: upload.file.staged.sha256 };
  return requestHash(method, path, JSON.stringify({ fields, file }));
}

/**
 * Why the claim would refuse an upload from this actor now, judged before its body is read
 * by the policy version the claim follows: the role first, then the claim's state (the
 * claim service judges the whole event again when it applies it).
 */
function refusalBeforeUpload(service: ClaimService, claim: ClaimRecord, actor: Actor): Refusal | undefined {
  const now = service.clock.now();
  const probe: ClaimEvent = { type: 'uploadPoe', actor, at: now.toISOString(), payload: {} };
  return refusalBeforePayload(service.policyFor(claim, now).claim, claim.snapshot, probe);
}

const unsupportedFileType = () =>
  new HttpError(
    'unsupportedFileType',
    `The file is not one of the accepted types (${ALLOWED_POE_TYPES.map((t) => t.description).join(', ')}); its content was checked, not its name.`,
    { accepted: ALLOWED_POE_TYPES.map((t) => t.contentType) },
  );

export function poeRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps, access } = ctx;
  const { service, store, files } = deps;
  /** Files landed for uploads whose change has not committed yet, by address (how many uploads each). */
  const landing = new Map<string, number>();
  /**
   * Removes a landed file the refused (or failed) upload left, unless a claim names it or another
   * upload of the same bytes is under way here. A store that cannot tell keeps the file.
   */
  async function forgetUnreferenced(sha256: string): Promise<void> {
    if ((landing.get(sha256) ?? 0) > 1 || !store.hasPoeFile) return;
    try {
      if (!(await store.hasPoeFile(sha256))) await files.remove(sha256);
    } catch (error) {
      deps.logger.warn({ err: error, sha256 }, 'a refused upload\'s file could not be removed');
    }
  }
  const auth = authenticate(deps.authenticator);
  const { poeMaxConcurrentUploads, poeUploadIdleMs, poeUploadTimeoutMs } = ctx.limits;
  let uploading = 0;

  return [
    {
      method: 'post',
      path: '/v1/claims/:id/poe',
      operationId: 'uploadPoe',
      summary: 'Upload a proof-of-execution document (the uploadPoe event)',
      description:
        `At most ${ctx.limits.poeMaxBytes} bytes. The file name is sanitised and its extension follows the content. ` +
        `At most ${ctx.limits.poeMaxConcurrentUploads} uploads are received at once (503 with Retry-After past that); an upload that sends ` +
        `nothing for ${ctx.limits.poeUploadIdleMs} ms or takes longer than ${ctx.limits.poeUploadTimeoutMs} ms is cut off (408). Nothing is stored for a refused upload.`,
      tag: 'poe',
      auth: true,
      headers: [IF_MATCH_OPTIONAL, IDEMPOTENCY_KEY],
      body: {
        required: true,
        content: {
          'multipart/form-data': uploadFormSchema,
        },
      },
      responses: {
        201: { description: 'The document as recorded', content: { 'application/json': poeViewSchema }, headers: ['ETag', 'Location'] },
      },
      problems: [400, 401, 403, 404, 408, 409, 412, 413, 415, 422, 503],
      handlers: [
        auth,
        async (req, res) => {
          const principal = principalOf(res);
          const claim = await loadVisibleClaim(store, access, principal, param(req, 'id'));
          const expectedVersion = checkIfMatch(req, claim.version, { required: false });
          // Refuse what the claim would refuse anyway before reading (and staging) a file.
          const early = refusalBeforeUpload(service, claim, principal);
          if (early) throw refusalError(early);
          if (uploading >= poeMaxConcurrentUploads) {
            // The body is not read: the connection cannot carry another request.
            res.set('Connection', 'close');
            throw new HttpError(
              'tooManyUploads',
              `${poeMaxConcurrentUploads} uploads are being received; retry in a few seconds.`,
              { limit: poeMaxConcurrentUploads },
              { retryAfterSec: RETRY_AFTER_SECONDS },
            );
          }
          uploading++;
          let upload: ParsedUpload | undefined;
          try {
            upload = await parseUpload(req, {
              fileBytes: ctx.limits.poeMaxBytes,
              fileField: FILE_FIELD,
              fields: TEXT_FIELDS,
              stage: (source) => files.stage(source),
              idleMs: poeUploadIdleMs,
              totalMs: poeUploadTimeoutMs,
            }).catch((error: unknown) => {
              // The rest of the body is not read: the connection cannot carry another request.
              if (!req.complete) res.set('Connection', 'close');
              throw error;
            });
            const parsed = upload;
            await runIdempotently(ctx.idempotency, req, res, uploadHash(req.method, req.originalUrl, parsed), async () => {
              const fields = formPayload(parsed);
              const staged = parsed.file!.staged;
              const type = await staged.inspect(sniffContentType);
              if (!type) throw unsupportedFileType();
              const payload = validateInput<Record<string, unknown>>(uploadSchema, {
                fileName: sanitizeFileName(parsed.file!.name, type.extension),
                ...fields,
              });
              const file = { sha256: staged.sha256, size: staged.size, contentType: type.contentType };
              const answer = ({ claim: changed, entries }: ActResult): Answer => {
                const poeId = entries.at(-1)?.refs?.poeId;
                const poe = changed.snapshot.context.poe;
                const doc = poe.find((d) => d.id === poeId) ?? poe.at(-1)!;
                return { status: 201, etag: changed.version, location: poePath(claim.id, doc.id), body: poeView(claim.id, doc) };
              };
              // The file lands at its address before the claim's change commits: a crash between the two
              // leaves a file no claim names, never a claim naming a file that is not there.
              await staged.commit();
              landing.set(file.sha256, (landing.get(file.sha256) ?? 0) + 1);
              let result: ActResult;
              try {
                result = await withVersionCheck(expectedVersion, () =>
                  service.act(claim.id, 'uploadPoe', principal, payload, { file, expectedVersion, ...keepAnswer(res, answer) }),
                );
              } catch (error) {
                await forgetUnreferenced(file.sha256);
                throw error;
              } finally {
                const left = landing.get(file.sha256)! - 1;
                if (left) landing.set(file.sha256, left);
                else landing.delete(file.sha256);
              }
              sendAnswer(res, answer(result));
            });
          } finally {
            uploading--;
            await upload?.file?.staged.discard();
          }
        },
      ],
    },
    {
      method: 'get',
      path: '/v1/claims/:id/poe/:poeId',
      operationId: 'downloadPoe',
      summary: 'Download a proof-of-execution document',
      tag: 'poe',
      auth: true,
      responses: {
        200: {
          description: 'The file, as an attachment, with the content type found at upload (one of the accepted PoE types)',
          content: Object.fromEntries(
            [...ALLOWED_POE_TYPES.map((t) => t.contentType), 'application/octet-stream'].map((type) => [
              type,
              { type: 'string', contentMediaType: type },
            ]),
          ),
          headers: ['Content-Disposition', 'X-Content-Type-Options'],
        },
      },
      problems: [401, 404],
      handlers: [
        auth,
        async (req, res) => {
          const claim = await loadVisibleClaim(store, access, principalOf(res), param(req, 'id'));
          const poeId = param(req, 'poeId');
          const doc = claim.snapshot.context.poe.find((d) => d.id === poeId);
          if (!doc?.sha256) throw new NotFoundError('poeNotFound', `Claim ${claim.id} has no PoE file ${poeId}.`);
          const opened = await files.open(doc.sha256);
          if (!opened) throw new Error(`PoE file ${doc.sha256} of claim ${claim.id} is missing from the file store`);
          res.set({
            'Content-Type': doc.contentType ?? 'application/octet-stream',
            'Content-Length': String(opened.size),
            'Content-Disposition': contentDisposition(doc.fileName),
            'X-Content-Type-Options': 'nosniff',
            'Cache-Control': 'private, no-store',
          });
          pipeline(opened.stream, res, (error) => {
            if (error && (error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
              deps.logger.error({ err: error, claimId: claim.id, poeId }, 'PoE download failed');
            }
          });
        },
      ],
    },
  ];
}
