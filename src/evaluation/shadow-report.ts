/** The shadow report: what each shadow policy version would have decided differently, from the decision log's `shadow` records. */
import type { DecisionRecord } from '../claims/decision-digest';
import { SHADOW_DIFFERENCE_KINDS, type ShadowDifferenceKind, type ShadowResult } from '../claims/shadow';

/** Examples kept per shadow version and difference kind. */
const EXAMPLES_PER_KIND = 5;

export interface ShadowExample {
  claimId: string | null;
  at: string;
  event: string;
  kind: ShadowDifferenceKind;
  live: unknown;
  shadow: unknown;
  /** The live version that decided. */
  livePolicy: { id: string; version: string };
}

export interface ShadowVersionReport {
  policy: { id: string; version: string };
  /** Transitions it decided differently on. */
  transitions: number;
  /** Claims among them. */
  claims: number;
  /** Differences by kind (every kind listed, zero included). */
  differences: Record<ShadowDifferenceKind, number>;
  /** The first few differences of each kind, oldest first. */
  examples: ShadowExample[];
}

const zeroCounts = () => Object.fromEntries(SHADOW_DIFFERENCE_KINDS.map((kind) => [kind, 0])) as Record<ShadowDifferenceKind, number>;

/** Per shadow version (in the order first seen), from shadow records oldest first. */
export function shadowReport(records: readonly DecisionRecord[]): { versions: ShadowVersionReport[]; differences: Record<ShadowDifferenceKind, number> } {
  const versions = new Map<string, ShadowVersionReport & { claimIds: Set<string> }>();
  const total = zeroCounts();
  for (const record of records) {
    if (record.kind !== 'shadow') continue;
    const result = record.result as ShadowResult;
    const key = `${record.policy.id}@${record.policy.version}`;
    let version = versions.get(key);
    if (!version) {
      version = { policy: { ...record.policy }, transitions: 0, claims: 0, differences: zeroCounts(), examples: [], claimIds: new Set() };
      versions.set(key, version);
    }
    version.transitions += 1;
    if (record.claimId) version.claimIds.add(record.claimId);
    for (const difference of result.differences) {
      version.differences[difference.kind] += 1;
      total[difference.kind] += 1;
      if (version.examples.filter((e) => e.kind === difference.kind).length < EXAMPLES_PER_KIND) {
        version.examples.push(exampleOf(record, result, difference));
      }
    }
  }
  return {
    versions: [...versions.values()].map(({ claimIds, ...version }) => ({ ...version, claims: claimIds.size })),
    differences: total,
  };
}

function exampleOf(record: DecisionRecord, result: ShadowResult, difference: ShadowResult['differences'][number]): ShadowExample {
  return {
    claimId: record.claimId,
    at: record.at,
    event: result.event,
    kind: difference.kind,
    live: difference.live,
    shadow: difference.shadow,
    livePolicy: { ...result.live.policy },
  };
}

/** One row per difference: what the CSV lists. */
export function shadowDifferenceRows(records: readonly DecisionRecord[]): string[][] {
  const rows = [['policyId', 'policyVersion', 'livePolicyVersion', 'claimId', 'at', 'event', 'kind', 'live', 'shadow']];
  for (const record of records) {
    if (record.kind !== 'shadow') continue;
    const result = record.result as ShadowResult;
    for (const d of result.differences) {
      rows.push([
        record.policy.id,
        record.policy.version,
        result.live.policy.version,
        record.claimId ?? '',
        record.at,
        result.event,
        d.kind,
        cell(d.live),
        cell(d.shadow),
      ]);
    }
  }
  return rows;
}

const cell = (value: unknown) => (value === null ? '' : Array.isArray(value) ? value.join(' ') : String(value));
