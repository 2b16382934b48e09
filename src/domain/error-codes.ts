/**
 * Every machine-readable error code the service answers, each with its one HTTP status
 * and a sentence saying what it means. Errors take an `ErrorCode`, so a code that is
 * not here does not compile; the problem mapper (src/http/errors.ts) takes the status
 * from here. (Policy lint issues have their own codes: see rules/policy-lint.ts.)
 *
 * Versions: `staleVersion` (412) is a stale precondition, the version the caller named
 * (If-Match, or `expectedVersion`) is not the claim's; `versionConflict` (409) is a write
 * the store refused because another write changed the claim between read and write.
 * Over HTTP a `versionConflict` on a request that sent If-Match answers `staleVersion`.
 */
interface ErrorCodeEntry {
  readonly status: number;
  readonly summary: string;
}

export const ERROR_CODES = {
  // 400: the input is wrong
  ambiguousParameter: { status: 400, summary: 'A query parameter was given more than once.' },
  badRequest: { status: 400, summary: 'The request body could not be read.' },
  historyAfterAsOf: { status: 400, summary: 'A history entry is later than the instant to evaluate at.' },
  historyMismatch: { status: 400, summary: 'The history does not end in the claim’s current state.' },
  historyOutOfOrder: { status: 400, summary: 'The history is not oldest first.' },
  invalidCursor: { status: 400, summary: 'The page cursor is not one this service gave.' },
  invalidIdempotencyKey: { status: 400, summary: 'The Idempotency-Key header is not a valid key.' },
  invalidIfMatch: { status: 400, summary: 'The If-Match header is not an entity tag.' },
  invalidInstant: { status: 400, summary: 'An instant is not an ISO 8601 date-time with an offset.' },
  invalidPolicyFileName: { status: 400, summary: 'A policy file name is not a plain name ending in .yaml or .yml (lower-case letters, digits, dot, dash, underscore).' },
  invalidPayload: { status: 400, summary: 'The request body does not match its schema.' },
  invalidPoeAddress: { status: 400, summary: 'A proof-of-execution address is not one this service stores.' },
  invalidQuery: { status: 400, summary: 'A query parameter does not match its schema.' },
  invalidStatus: { status: 400, summary: 'The status is not a state of the claim lifecycle.' },
  invalidSubstatus: { status: 400, summary: 'The substatus does not go with the status.' },
  jsonTooDeep: { status: 400, summary: 'The JSON body nests deeper than this service accepts.' },
  malformedJson: { status: 400, summary: 'The request body is not valid JSON.' },
  malformedMultipart: { status: 400, summary: 'The multipart body cannot be parsed.' },
  malformedPath: { status: 400, summary: 'The request path holds a malformed percent-encoding.' },
  malformedRequest: { status: 400, summary: 'The request is not valid HTTP/1.1.' },
  poeSignedInFuture: { status: 400, summary: 'The proof of execution is signed on a date after today.' },
  policyNotSelectable: { status: 400, summary: 'This endpoint works under the policy in effect; another cannot be chosen.' },
  requestAborted: { status: 400, summary: 'The client stopped sending the request body.' },
  unknownDeficiencyCode: { status: 400, summary: 'A deficiency code is not one the policy defines.' },
  unknownEvent: { status: 400, summary: 'The event is not one the claim lifecycle knows.' },
  unknownPoe: { status: 400, summary: 'The proof of execution named is not on this claim.' },
  unknownReason: { status: 400, summary: 'The rejection reason is not one the policy defines.' },
  // 401: who is calling is unknown
  expiredToken: { status: 401, summary: 'The bearer token has expired.' },
  invalidToken: { status: 401, summary: 'The bearer token does not verify.' },
  missingToken: { status: 401, summary: 'The request carries no bearer token.' },
  // 403: the caller may not do this
  forbiddenRole: { status: 403, summary: 'The caller’s role may not do this.' },
  notYourClaim: { status: 403, summary: 'The claim belongs to another partner or customer.' },
  reasonNotAllowed: { status: 403, summary: 'The caller’s role may not reject for this reason.' },
  // 404: it does not exist
  claimNotFound: { status: 404, summary: 'There is no such claim.' },
  backtestJobNotFound: { status: 404, summary: 'There is no such backtest job (or it was dropped).' },
  notInDemoMode: { status: 404, summary: 'The demo clock exists only in demo mode (`cpor serve --demo`).' },
  devSignInUnavailable: { status: 404, summary: 'Development sign-in exists only while the service signs with its generated development secret.' },
  poeNotFound: { status: 404, summary: 'There is no such proof of execution on the claim.' },
  policyFileNotFound: { status: 404, summary: 'There is no such policy file in the service’s policy directory.' },
  policyNotInEffect: { status: 404, summary: 'No version of the policy is in effect at that instant.' },
  routeNotFound: { status: 404, summary: 'There is no such path in this API.' },
  unknownAction: { status: 404, summary: 'There is no such action on a claim.' },
  unknownPolicyVersion: { status: 404, summary: 'That policy version is not loaded.' },
  // 405, 408
  methodNotAllowed: { status: 405, summary: 'The path exists but does not answer this method.' },
  requestTimeout: { status: 408, summary: 'The request was not received in time.' },
  uploadTimeout: { status: 408, summary: 'The upload was not received in time.' },
  // 409: the claim (or the service) is not in a state that allows this
  backtestRunning: { status: 409, summary: 'Another backtest is running.' },
  claimExists: { status: 409, summary: 'A claim with this id exists already.' },
  disputeLimitReached: { status: 409, summary: 'The claim has had as many disputes as the policy allows.' },
  fieldNotEditable: { status: 409, summary: 'The field cannot be edited in the claim’s current state.' },
  idempotencyKeyInFlight: { status: 409, summary: 'A request with this Idempotency-Key is still running.' },
  noPendingDeadline: { status: 409, summary: 'No claim has a running deadline to move the demo clock to.' },
  invalidState: { status: 409, summary: 'The claim’s state does not allow this event.' },
  poeBytesLimitReached: { status: 409, summary: 'The claim holds as many proof-of-execution bytes as the policy allows.' },
  poeLimitReached: { status: 409, summary: 'The claim holds as many proofs of execution as the policy allows.' },
  policyDirectoryRequired: { status: 409, summary: 'Policy files are saved only when the service runs on a policy directory (CPOR_POLICY names a folder).' },
  policyUnavailable: { status: 409, summary: 'The claim follows a policy version this service has not loaded.' },
  requirementsNotMet: { status: 409, summary: 'The claim does not yet meet the policy’s requirements for this event.' },
  versionConflict: { status: 409, summary: 'Another write changed the claim meanwhile; reload it and try again.' },
  windowClosed: { status: 409, summary: 'The policy’s window for this event has closed.' },
  // 412, 413, 415
  staleVersion: { status: 412, summary: 'The version the caller named (If-Match) is not the claim’s current one.' },
  bodyTooLarge: { status: 413, summary: 'The request body is larger than this endpoint accepts.' },
  poeTooLarge: { status: 413, summary: 'The uploaded file is larger than the policy allows.' },
  unsupportedEncoding: { status: 415, summary: 'The body’s content or character encoding is not supported.' },
  unsupportedFileType: { status: 415, summary: 'The uploaded file’s content is not an allowed type.' },
  unsupportedMediaType: { status: 415, summary: 'The request’s Content-Type is not one this endpoint accepts.' },
  // 422: understood, but will not be done
  backtestTooExpensive: { status: 422, summary: 'The backtest went past its time or memory budget.' },
  idempotencyKeyReused: { status: 422, summary: 'The Idempotency-Key was used before with another request.' },
  invalidPolicy: { status: 422, summary: 'The candidate policy does not load.' },
  simulationTooExpensive: { status: 422, summary: 'The simulation went past its time or memory budget.' },
  tooManyClaims: { status: 422, summary: 'The backtest would replay more claims than allowed at a time.' },
  // 428, 431
  ifMatchRequired: { status: 428, summary: 'This write needs If-Match with the claim’s ETag.' },
  headersTooLarge: { status: 431, summary: 'The request headers are larger than this service accepts.' },
  // 5xx: the service's side
  internalError: { status: 500, summary: 'The service failed to handle the request; it has been logged.' },
  authUnavailable: { status: 503, summary: 'The token issuer’s keys cannot be fetched now.' },
  databaseUnavailable: { status: 503, summary: 'The database cannot be reached now (restarting, say); try again shortly.' },
  tooManyUploads: { status: 503, summary: 'Too many uploads are in progress; try again shortly.' },
  workersBusy: { status: 503, summary: 'Every worker is busy; try again shortly.' },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes answered with status `S`. */
export type CodeWithStatus<S extends number> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never;
}[ErrorCode];

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** The one HTTP status of a code; 500 for a code the compiler did not see (it came from JavaScript, or across a thread). */
export const statusOf = (code: ErrorCode): number => (isErrorCode(code) ? ERROR_CODES[code].status : 500);
