/** The policy in effect as the UI needs it (GET /v1/policies/current), loaded once per language. */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from './api/client';
import type { Claim, PolicyView } from './api/contract';
import { language } from './i18n/i18n';

let cached: { language: string; policy: Promise<PolicyView> } | undefined;

export function loadPolicy(language: string): Promise<PolicyView> {
  if (cached?.language !== language) {
    const policy = api.GET('/v1/policies/current').then(ok);
    policy.catch(() => (cached = undefined));
    cached = { language, policy };
  }
  return cached.policy;
}

/** The policy in effect for a view, loaded again in the new language when the UI's changes (undefined until it is in). */
export function usePolicy(): PolicyView | undefined {
  const [policy, setPolicy] = useState<PolicyView | undefined>();
  const lang = language();
  useEffect(() => void loadPolicy(lang).then(setPolicy, () => {}), [lang]);
  return policy;
}

/** What a status means: the claim's own statusText, else the policy's status table. */
export function statusTextOf(claim: { status: string; statusText?: Claim['statusText'] }, policy: PolicyView | undefined) {
  return claim.statusText ?? policy?.statuses.find((s) => s.status === claim.status) ?? { title: claim.status, meaning: '', next: '' };
}

/** Product codes of a claim (workloads, Business Applications products). */
export function productCodes(claim: Pick<Claim, 'fields'>): string[] {
  return (claim.fields.products ?? []).map((p) => ('workload' in p && p.workload ? p.workload : 'product' in p && p.product ? p.product : p.line));
}
