/**
 * `/v1/evaluate`: what a policy says about a claim at an instant (stateless), and the
 * decision log's record of each answer, written off the response path.
 */
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Principal } from '../auth/authenticator';
import type { ClaimStore } from '../claims/claim-store';
import type { CompiledPolicy } from '../policies/compiled-policy';
import { resolvePolicyVersion } from '../policies/resolve-policy-version';
import { digestInput, type DecisionRecord } from '../claims/decision-digest';
import { claimEvaluationSchema } from '../evaluation/claim-evaluation-schema';
import { evaluationRecord, verdictOf, type EvaluationVerdict } from '../evaluation/evaluation-decision';
import { evaluateClaim, evaluationInputSchema, type EvaluationInput } from '../evaluation/evaluate-claim';
import { createRuleResultCache, type RuleResultCache } from '../evaluation/rule-result-cache';
import type { Access } from './access';
import { authenticate, principalOf } from './auth';
import type { HttpContext } from './context';
import { jsonBody, rawBodyOf } from './json-body';
import { policySourceOf } from './policy-routes';
import type { RouteSpec } from './route-spec';
import { validateInput, validateQuery } from './validation';
import { INTEGER_SETTINGS } from '../config';

const { $schema: _dialect, ...evaluationBodySchema } = evaluationInputSchema;

/**
 * A decision record to write, or what builds it when the queue writes it (null: nothing to write).
 * A record queued as is holds only strings and shared frozen parts: nothing of the request or
 * its answer outlives the answer (what outlives it here survives the young generation's collections).
 */
export type PendingDecision = DecisionRecord | (() => DecisionRecord | null | Promise<DecisionRecord | null>);

/**
 * Decision-log records of evaluations, written in the background, in arrival order, in
 * batches: what queued up in `intervalMs` (or `maxBatch` records, whichever comes first) goes
 * in one transaction (the store's appendDecisions). Durability trade-off: a crash loses the
 * records still queued (at most the last `intervalMs` of evaluations); a graceful shutdown
 * flushes them (flushDecisionLog). Transitions never go through it: their records are written
 * in the transition's own transaction.
 */
export interface DecisionQueue {
  push(decision: PendingDecision): void;
  /** Whether the queue holds as many records as it may; callers wait for `room()` first. */
  readonly full: boolean;
  /** Resolves once the queue is below its limit. */
  room(): Promise<void>;
  /** Resolves once every record queued so far has been written (or failed and was logged). */
  flush(): Promise<void>;
  readonly pending: number;
}

export interface DecisionQueueOptions {
  store: Pick<ClaimStore, 'transaction'>;
  logger: Pick<Logger, 'error'>;
  /** Records queued at most before requests wait for room (backpressure). */
  maxPending?: number;
  /** Records written in one transaction at most; a full batch is written at once. */
  maxBatch?: number;
  /** Longest a record waits for its batch, in ms. */
  intervalMs?: number;
}

const DEFAULT_MAX_PENDING = 10_000;
const DEFAULT_MAX_BATCH = 1000;
/**
 * 200 ms: a batch's rows share the index pages they dirty (the claim indexes take rows at scattered
 * places), so a longer window writes fewer pages per record to the WAL: at ~3,000 evaluations/s over
 * 300 claims, 50 ms took ~1.1 page writes (pwrite64, strace) per record, 200 ms ~0.6. The price: a crash
 * loses up to that much more of the evaluation records, and a batch holds the connection a few ms longer.
 */
const DEFAULT_INTERVAL_MS = 200;

export function createDecisionQueue({
  store,
  logger,
  maxPending = DEFAULT_MAX_PENDING,
  maxBatch = DEFAULT_MAX_BATCH,
  intervalMs = DEFAULT_INTERVAL_MS,
}: DecisionQueueOptions): DecisionQueue {
  let queue: PendingDecision[] = [];
  let draining: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let waiting: Array<() => void> = [];

  const wake = () => {
    if (queue.length >= maxPending || waiting.length === 0) return;
    const ready = waiting;
    waiting = [];
    for (const resolve of ready) resolve();
  };

  async function drain(): Promise<void> {
    let failed = 0;
    let firstError: unknown;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      wake();
      const records: DecisionRecord[] = [];
      for (const pending of batch) {
        try {
          const record = typeof pending === 'function' ? await pending() : pending;
          if (record) records.push(record);
        } catch (error) {
          failed += 1;
          firstError ??= error;
        }
      }
      if (records.length === 0) continue;
      try {
        await store.transaction((tx) => tx.appendDecisions(records));
      } catch (error) {
        failed += records.length;
        firstError ??= error;
      }
    }
    if (failed > 0) logger.error({ err: firstError, lost: failed }, 'decision log: evaluation records could not be written');
  }

  const drainNow = () => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    draining ??= drain().finally(() => {
      draining = null;
      if (queue.length > 0) schedule();
    });
    return draining;
  };

  /**
   * The next batch goes when its first record has waited `intervalMs`, or at the next turn once
   * it is full; never within the turn that queued it (the answer goes out first).
   */
  const schedule = () => {
    if (draining) return;
    if (queue.length >= maxBatch) {
      if (timer) clearTimeout(timer);
      timer = setTimeout(drainNow, 0);
    } else timer ??= setTimeout(drainNow, intervalMs);
  };

  return {
    push(decision) {
      queue.push(decision);
      schedule();
    },
    get full() {
      return queue.length >= maxPending;
    },
    get pending() {
      return queue.length;
    },
    room() {
      if (queue.length < maxPending) return Promise.resolve();
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    async flush() {
      while (draining || queue.length > 0) await (draining ?? drainNow());
    },
  };
}

const evaluateQuery = {
  properties: {
    explain: {
      enum: ['full'],
      description: "`full`: each rule's explanation and summary in the answer (as OPA's `explain=full`). Default: the decision only.",
    },
  },
} as const;

const CACHE_HITS = 'cpor_evaluation_cache_hits_total';
const CACHE_MISSES = 'cpor_evaluation_cache_misses_total';
const CACHE_SIZE = 'cpor_evaluation_cache_entries';

/** The rule-result cache's counters on /metrics, read from the cache when scraped. */
function registerCacheMetrics(registry: Registry, cache: RuleResultCache, keptAnswers: () => number): void {
  for (const name of [CACHE_HITS, CACHE_MISSES, CACHE_SIZE]) registry.removeSingleMetric(name);
  new Counter({
    name: CACHE_HITS,
    help:
      'POST /v1/evaluate calls whose rule results came from the cache (policy version and values of the facts the rules read seen before), ' +
      'or whose whole decision-only answer did (the same body bytes under the same policy version)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.hits + keptAnswers());
    },
  });
  new Counter({
    name: CACHE_MISSES,
    help: 'POST /v1/evaluate calls that ran the rules (json-rules-engine)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.misses);
    },
  });
  new Gauge({
    name: CACHE_SIZE,
    help: 'Rule results held in the evaluation cache (EVALUATION_CACHE_SIZE at most)',
    registers: [registry],
    collect() {
      this.set(cache.size);
    },
  });
}

export interface EvaluateRouteOptions {
  /** Where the cache's hit and miss counters go (/metrics). */
  registry?: Registry;
  /** Rule results kept at most (EVALUATION_CACHE_SIZE); 0: none. */
  cacheSize?: number;
  /** Share of evaluations recorded in the decision log (EVALUATION_LOG_SAMPLE, 0–1; default 1: every one). */
  logSample?: number;
  /** Draws the sample (default Math.random). */
  random?: () => number;
}

/** Request bodies remembered as checked at most, the largest remembered, and the bytes held for all of them together. */
const CHECKED_BODIES = 4096;
const CHECKED_BODY_MAX_BYTES = 16 * 1024;
const CHECKED_BODIES_MAX_BYTES = 8 * 1024 * 1024;

/** The decision-only answer to a body (its text and its decision-log verdict), and the policy version object it was worked out under. */
interface KeptAnswer {
  policy: CompiledPolicy;
  verdict: EvaluationVerdict;
  text: string;
}

interface CheckedBody {
  digest?: string;
  answer?: KeptAnswer;
  /** Bytes held for it: its key's, and its answer's text once kept. */
  bytes: number;
}

/**
 * The request bodies that passed the schema, by the SHA-256 of their exact bytes (the bytes
 * themselves are not kept), with the decision log's digest of the input once worked out and the
 * decision-only answer: the same bytes parse to the same input (its `asOf` included: an evaluation
 * reads no clock), so its check, digest and answer under the same policy version come out the
 * same (page views send the same body again and again). Least recently used first; bounded by
 * count and by the bytes of keys and answers together.
 */
export function createCheckedBodies(maxBytes = CHECKED_BODIES_MAX_BYTES) {
  const bodies = new Map<string, CheckedBody>();
  /** Bytes held (one character per byte). */
  let held = 0;
  const makeRoom = (bytes: number) => {
    while (bodies.size > 0 && (bodies.size >= CHECKED_BODIES || held + bytes > maxBytes)) {
      const [oldest, entry] = bodies.entries().next().value!;
      bodies.delete(oldest);
      held -= entry.bytes;
    }
  };
  return {
    /** The entry of these bytes if they passed before (then the most recent), else undefined. */
    get(bytes: Buffer) {
      if (bytes.length === 0 || bytes.length > CHECKED_BODY_MAX_BYTES) return undefined;
      const key = createHash('sha256').update(bytes).digest('base64');
      const entry = bodies.get(key);
      if (entry) {
        bodies.delete(key);
        bodies.set(key, entry);
      }
      return { key, entry };
    },
    add(key: string) {
      const known = bodies.get(key);
      if (known) return known;
      makeRoom(key.length);
      const entry: CheckedBody = { bytes: key.length };
      bodies.set(key, entry);
      held += key.length;
      return entry;
    },
    /** Keeps the answer to a held body (replacing one under another policy version). */
    keepAnswer(key: string, answer: KeptAnswer) {
      const entry = bodies.get(key);
      if (!entry) return;
      bodies.delete(key);
      held -= entry.bytes;
      makeRoom(key.length + answer.text.length);
      entry.answer = answer;
      entry.bytes = key.length + answer.text.length;
      bodies.set(key, entry);
      held += entry.bytes;
    },
    /** How many bodies, and how many bytes for them, are held. */
    get size() {
      return { bodies: bodies.size, bytes: held };
    },
  };
}

export function evaluateRoutes(ctx: HttpContext, decisions: DecisionQueue, options: EvaluateRouteOptions = {}): RouteSpec[] {
  const { deps, access } = ctx;
  const checked = createCheckedBodies();
  const cacheSize = options.cacheSize ?? INTEGER_SETTINGS.evaluationCacheSize.default;
  const cache = createRuleResultCache(cacheSize);
  /** Decision-only answers are kept with their bodies while the rule cache is on (EVALUATION_CACHE_SIZE 0 turns both off). */
  const keepAnswers = cacheSize > 0;
  /** Calls answered from a kept answer (counted as cache hits: no rule ran). */
  let keptHits = 0;
  if (options.registry) registerCacheMetrics(options.registry, cache, () => keptHits);
  const { service, store } = deps;
  const { logSample = 1, random = Math.random } = options;
  const policies = policySourceOf(deps);

  /** The named version of the service's program, or the version in effect at `asOf`. */
  const policyFor = (input: EvaluationInput): CompiledPolicy =>
    resolvePolicyVersion(policies, { at: new Date(input.asOf), requested: input.policyVersion, now: service.clock.now() });

  return [
    {
      method: 'post',
      path: '/v1/evaluate',
      operationId: 'evaluateClaim',
      summary: 'What the policy says about a claim at an instant: events, editable fields, deficiencies, requirements, deadlines, eligibility',
      description:
        'Stateless: nothing about the claim is stored or changed. Evaluates under `policyVersion` when given, else under the version in effect ' +
        'at `asOf`. Every answer (or the share EVALUATION_LOG_SAMPLE sets) is recorded in the decision log (policy, input digest, result, rules ' +
        'fired); records are written in the background in batches (every 200 ms), so a crash can lose the last moment\'s evaluation records (never a transition\'s). The record (kind `evaluation`, ' +
        'with the caller as `author` and the service\'s time of the answer as `at`; `asOf` is in its result) is kept with the claim `claim.id` ' +
        'names when the caller may see that claim. Any authenticated role may call it. The answer holds the decision only; `?explain=full` adds ' +
        "each rule's explanation and summary. Rule results are cached per policy version and the values of the facts the rules read " +
        '(EVALUATION_CACHE_SIZE entries; hits and misses in /metrics), and the decision-only answer of a body sent again byte for byte is ' +
        'kept under the same policy version: a cached answer is the one the rules would give.',
      tag: 'policy',
      auth: true,
      query: evaluateQuery,
      body: { required: true, content: { 'application/json': evaluationBodySchema } },
      responses: { 200: { description: 'The evaluation', content: { 'application/json': claimEvaluationSchema } } },
      problems: [400, 401, 404, 413, 415],
      handlers: [
        authenticate(deps.authenticator),
        ...jsonBody(ctx.limits.jsonBodyBytes),
        async (req, res) => {
          const query = req.query as Record<string, unknown>;
          // Most calls have no query: nothing to check then (an empty query is valid).
          const { explain } = isEmpty(query) ? {} : validateQuery<{ explain?: 'full' }>(evaluateQuery, query);
          const seen = checked.get(rawBodyOf(req));
          let body = seen?.entry;
          if (!body) {
            validateInput<EvaluationInput>(evaluationInputSchema, req.body);
            if (seen) body = checked.add(seen.key);
          }
          const input = req.body as EvaluationInput;
          const policy = policyFor(input);
          // The same bytes under the same policy version: the answer worked out before (the rule cache's setting turns this off too).
          const kept = keepAnswers && explain === undefined && body?.answer?.policy === policy ? body.answer : undefined;
          if (kept) keptHits += 1;
          const evaluation = kept ? undefined : await evaluateClaim(policy, input, { cache, explain: explain === 'full' });
          // Backpressure only when the log falls far behind; otherwise the answer never waits for it.
          if (decisions.full) await decisions.room();
          const text = kept ? kept.text : JSON.stringify(evaluation);
          const keep = keepAnswers && !kept && seen !== undefined && explain === undefined;
          const logged = logSample >= 1 || random() < logSample;
          const verdict = kept ? kept.verdict : keep || logged ? verdictOf(evaluation!) : undefined;
          if (keep) checked.keepAnswer(seen.key, { policy, verdict: verdict!, text });
          sendJson(res, text);
          if (!logged) return;
          const principal = principalOf(res);
          const recorded = { at: service.clock.now().toISOString(), author: { role: principal.role, id: principal.id } };
          const digest = body ? (body.digest ??= digestInput(input)) : digestInput(input);
          decisions.push(pendingDecision(evaluationRecord(verdict!, input.claim.id ?? null, recorded, digest), principal, store, access));
        },
      ],
    },
  ];
}

function isEmpty(object: Record<string, unknown>): boolean {
  for (const _key in object) return false;
  return true;
}

/**
 * What `res.json` sends for a POST in this app (no ETag: the app's 'etag' setting is off; a POST is
 * never fresh), written directly: Express's send re-reads settings and headers on every answer.
 */
function sendJson(res: Response, text: string): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * The record of one evaluation, filed at the service's time of the answer under its caller.
 * A partner's or a customer's evaluation joins the claim's log only if it may see that claim
 * (checked when the queue writes it): nobody writes into the decision log of a claim that is
 * not theirs. In the log, evaluations are kind `evaluation`, which the decisions list can leave
 * out (`kind=transition`), and it pages, so however many evaluations a caller files, every
 * transition stays in view.
 */
function pendingDecision(record: DecisionRecord, principal: Principal, store: Pick<ClaimStore, 'getClaim'>, access: Access): PendingDecision {
  const claimId = record.claimId;
  if (claimId === null) return record;
  const kind = access.kindOf(principal);
  if (kind === 'reviewer' || kind === 'internal') return record;
  return async () => {
    const claim = await store.getClaim(claimId);
    return claim && access.canSee(principal, claim) ? record : { ...record, claimId: null };
  };
}
