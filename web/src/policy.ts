/** The policy in effect as the UI needs it (GET /v1/policies/current), loaded once per language. */
import { call } from './api/client';
import type { Claim, Deficiency, PolicyView } from './api/contract';

let cached: { language: string; policy: Promise<PolicyView> } | undefined;

export function loadPolicy(language: string): Promise<PolicyView> {
  if (cached?.language !== language) {
    const policy = call<PolicyView>('GET', '/v1/policies/current');
    policy.catch(() => (cached = undefined));
    cached = { language, policy };
  }
  return cached.policy;
}

/** A product line's choices, whatever shape the policy gives them in. */
export function productLinesOf(policy: PolicyView): Array<{ line: string; title: string; workloads: string[]; products: string[] }> {
  const raw = policy.productLines as unknown;
  const entries: Array<Record<string, unknown>> = Array.isArray(raw)
    ? (raw as Array<Record<string, unknown>>)
    : Object.entries((raw ?? {}) as Record<string, Record<string, unknown>>).map(([line, value]) => ({ line, ...value }));
  const codes = (value: unknown): string[] =>
    Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : String((v as { code?: string }).code ?? ''))).filter(Boolean) : [];
  return entries.map((e) => ({
    line: String(e.line ?? e.code ?? ''),
    title: String(e.title ?? e.name ?? e.line ?? e.code ?? ''),
    workloads: codes(e.workloads),
    products: codes(e.products),
  }));
}

/** The claim's detected deficiencies with their descriptions (from the claim, else the policy's list). */
export function deficienciesOf(claim: Claim, policy: PolicyView | undefined): Deficiency[] {
  return (claim.deficiencies ?? []).map((d) =>
    typeof d === 'string' ? { code: d, description: policy?.deficiencyCodes.find((p) => p.code === d)?.description ?? d } : d,
  );
}

/** What a claim's status means, from the claim's statusText or the policy's status table. */
export function statusTextOf(claim: Pick<Claim, 'status' | 'statusText'>, policy: PolicyView | undefined) {
  return claim.statusText ?? policy?.statuses.find((s) => s.status === claim.status) ?? { title: claim.status, meaning: '', next: '' };
}

/** Product codes of a claim (workloads, Business Applications products). */
export function productCodes(claim: Pick<Claim, 'fields'>): string[] {
  const products = (claim.fields as { products?: Array<Record<string, unknown>> }).products ?? [];
  return products.map((p) => String(p.workload ?? p.product ?? p.line));
}
