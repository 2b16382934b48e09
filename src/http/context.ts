/** What the HTTP layer is built from (AppDeps) and what its routes share (HttpContext). */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../auth/authenticator';
import { INTEGER_SETTINGS } from '../config';
import type { ClaimService } from '../claims/claim-service';
import type { ClaimStore } from '../claims/claim-store';
import type { ClaimComment } from '../db/claim-comments';
import type { IdempotencyStore } from '../idempotency/idempotency-store';
import type { PoeFileStore } from '../poe/poe-file-store';
import type { PolicySource } from '../policies/policy-registry';
import type { Access } from './access';
import type { IdempotencyOptions } from './idempotency';

export interface Readiness {
  ok: boolean;
  details: Record<string, unknown>;
}

export interface AppDeps {
  service: ClaimService;
  /**
   * The store the service runs on; `listComments` when it keeps comments apart from the
   * history, `recordPoeFile` and `hasPoeFile` when it keeps the facts of stored PoE files.
   */
  store: ClaimStore & {
    listComments?(claimId: string): Promise<ClaimComment[]>;
    recordPoeFile?(file: { sha256: string; size: number; contentType: string }, at: string): Promise<void>;
    /** Whether a claim's PoE document (ever) named the file at this address. */
    hasPoeFile?(sha256: string): Promise<boolean>;
  };
  files: PoeFileStore;
  idempotency: IdempotencyStore;
  authenticator: Authenticator;
  logger: Logger;
  /** Where /metrics reads from; default a registry of the app's own. */
  metrics?: Registry;
  /** What /readyz asks; default always ready. */
  ready?: () => Promise<Readiness>;
  /**
   * The policy versions (GET /v1/policies, evaluations under a named version, backtest
   * baselines), with the registry's status of broken files when it has one; default
   * the claim service's source.
   */
  policies?: PolicySource & { status?(): unknown };
  limits?: {
    poeMaxBytes?: number;
    jsonBodyBytes?: number;
    backtestMaxClaims?: number;
    /** Rule results POST /v1/evaluate keeps (EVALUATION_CACHE_SIZE); 0: none. */
    evaluationCacheSize?: number;
    /** Share of evaluations recorded in the decision log (EVALUATION_LOG_SAMPLE); default 1. */
    evaluationLogSample?: number;
    /** Uploads received at once; more answer 503 with Retry-After. */
    poeMaxConcurrentUploads?: number;
    /** The longest an upload may send nothing, and may take in all (ms); 408 past either. */
    poeUploadIdleMs?: number;
    poeUploadTimeoutMs?: number;
    /** Worker threads for simulations and backtests: jobs at once, heap MiB per worker, ms per simulation and per backtest. */
    workers?: { size?: number; memoryMb?: number; timeoutMs?: number; backtestTimeoutMs?: number };
  };
}

export const DEFAULT_JSON_BODY_BYTES = 256 * 1024;
// The limits that are settings take their defaults from the one table of settings (src/config.ts).
/** Most claims one POST /v1/backtest replays; more is refused (tooManyClaims). */
export const DEFAULT_BACKTEST_MAX_CLAIMS = INTEGER_SETTINGS.backtestMaxClaims.default;
export const DEFAULT_POE_MAX_CONCURRENT_UPLOADS = INTEGER_SETTINGS.poeMaxConcurrentUploads.default;
export const DEFAULT_POE_UPLOAD_IDLE_MS = INTEGER_SETTINGS.poeUploadIdleMs.default;
export const DEFAULT_POE_UPLOAD_TIMEOUT_MS = INTEGER_SETTINGS.poeUploadTimeoutMs.default;

export interface HttpContext {
  deps: AppDeps;
  access: Access;
  idempotency: IdempotencyOptions;
  limits: {
    poeMaxBytes: number;
    jsonBodyBytes: number;
    backtestMaxClaims: number;
    poeMaxConcurrentUploads: number;
    poeUploadIdleMs: number;
    poeUploadTimeoutMs: number;
  };
}
