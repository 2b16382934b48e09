/**
 * Policy versions shipped to a worker thread: compiled policies (rule engines, machines)
 * cannot cross a thread, so the main thread sends each version's data and the worker
 * compiles it (once per content) and picks the version in effect exactly as the
 * registry does.
 */
import { compilePolicy, type CompiledPolicy } from '../policies/compiled-policy';
import type { PolicySource } from '../policies/policy-source';
import { NotFoundError } from '../domain/errors';
import type { Policy } from '../rules/policy-types';

export interface ShippedVersion {
  policy: Policy;
  /** -Infinity: in effect since forever. */
  effectiveMs: number;
  file: string;
  /** sha256 of its file: with id and version, the key of its compilation. */
  digest: string;
  /** In service (else kept only for claims pinned to it). */
  active: boolean;
}

export interface ShippedPolicies {
  /** The program `current` serves. */
  programId: string;
  versions: ShippedVersion[];
}

interface VersionList {
  current(at: Date): CompiledPolicy;
  get(ref: { id: string; version: string }): CompiledPolicy | undefined;
  list(): Array<{ id: string; version: string; effective: string | null; file: string; digest: string; active: boolean }>;
}

/** What a worker needs to follow `source` as a claim's clock moves (main thread side). */
export function shipPolicies(source: VersionList, now: Date): ShippedPolicies {
  const versions: ShippedVersion[] = [];
  for (const v of source.list()) {
    const compiled = source.get(v);
    if (!compiled) continue;
    versions.push({
      policy: compiled.policy,
      effectiveMs: v.effective === null ? -Infinity : Date.parse(v.effective),
      file: v.file,
      digest: v.digest,
      active: v.active,
    });
  }
  let programId: string;
  try {
    programId = source.current(now).policy.id;
  } catch {
    programId = versions[0]?.policy.id ?? '';
  }
  return { programId, versions };
}

const compiledCache = new Map<string, CompiledPolicy>();
const MAX_CACHED = 64;

function compiled(version: ShippedVersion): CompiledPolicy {
  const key = `${version.policy.id}@${version.policy.version}#${version.digest}`;
  let entry = compiledCache.get(key);
  if (!entry) {
    if (compiledCache.size >= MAX_CACHED) compiledCache.delete(compiledCache.keys().next().value!);
    entry = compilePolicy(version.policy);
    compiledCache.set(key, entry);
  }
  return entry;
}

const collator = new Intl.Collator('en', { numeric: true });
const byEffective = (a: ShippedVersion, b: ShippedVersion) =>
  a.effectiveMs - b.effectiveMs || collator.compare(a.policy.version, b.policy.version) || collator.compare(a.file, b.file);

/** The shipped versions as a claim service's policy source (worker side). */
export function shippedPolicySource({ programId, versions }: ShippedPolicies): PolicySource {
  return {
    current(at) {
      const time = at.getTime();
      const program = versions.filter((v) => v.active && v.policy.id === programId);
      const inEffect = program.filter((v) => v.effectiveMs <= time).sort(byEffective);
      const chosen = inEffect[inEffect.length - 1];
      if (chosen) return compiled(chosen);
      const earliest = program.sort(byEffective)[0];
      throw new NotFoundError(
        'policyNotInEffect',
        earliest
          ? `No version of policy ${programId} is in effect at ${at.toISOString()}: the earliest, ${earliest.policy.version}, takes effect at ${new Date(earliest.effectiveMs).toISOString()}.`
          : `No policy ${programId} is loaded.`,
      );
    },
    get(ref) {
      // The latest content of that version (the list holds each once).
      const found = versions.find((v) => v.policy.id === ref.id && v.policy.version === ref.version);
      return found ? compiled(found) : undefined;
    },
  };
}
