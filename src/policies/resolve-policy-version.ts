/** Which policy version applies: the one answer the claim service, `/v1/evaluate` and `cpor evaluate` share. */
import { ConflictError, NotFoundError } from '../domain/errors';
import type { CompiledPolicy } from './compiled-policy';
import type { PolicySource } from './policy-source';

export interface PolicyVersionQuery {
  /** A claim: once submitted it follows the version it was pinned to, whatever is in effect. */
  record?: { id: string; policy: { id: string; version: string }; policyPinned: boolean } | null;
  /** The instant: an unpinned claim, or an evaluation naming no version, follows the version in effect then. */
  at: Date;
  /** A version the caller names, of the program in effect at `now`. */
  requested?: string;
  /** The instant whose program a requested version belongs to (default `at`). */
  now?: Date;
}

/**
 * The compiled policy that applies: a claim's pinned version, else a requested version,
 * else the version in effect at `at`.
 * @throws ConflictError `policyUnavailable` when a claim's pinned version is not loaded;
 *   NotFoundError `unknownPolicyVersion` for a requested version that is not loaded,
 *   and `policyNotInEffect` (from the source) when no version is in effect at `at`.
 */
export function resolvePolicyVersion(
  source: PolicySource & { list?(): ReadonlyArray<{ id: string; version: string }> },
  query: PolicyVersionQuery,
): CompiledPolicy {
  const { record, requested } = query;
  if (record?.policyPinned) {
    const pinned = source.get(record.policy);
    if (!pinned) {
      throw new ConflictError(
        'policyUnavailable',
        `Claim ${record.id} follows policy ${record.policy.id} ${record.policy.version}, which this service has not loaded.`,
      );
    }
    return pinned;
  }
  if (requested === undefined) return source.current(query.at);
  const { id } = source.current(query.now ?? query.at).policy;
  const named = source.get({ id, version: requested });
  if (!named) {
    const loaded = (source.list?.() ?? []).filter((v) => v.id === id).map((v) => v.version);
    throw new NotFoundError(
      'unknownPolicyVersion',
      `Policy ${id} version ${requested} is not loaded; loaded versions: ${loaded.join(', ') || 'none'}.`,
    );
  }
  return named;
}
