/**
 * /v1/evaluate keeps the decision-only answer of a body it has seen (by its exact bytes) and
 * answers the same bytes again from it, under the same policy version object only: a reloaded
 * or other version works the answer out afresh, `?explain=full` is never kept, and
 * EVALUATION_CACHE_SIZE=0 turns it off with the rule cache. Every answer is still logged.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import { staticPolicySource } from '../../src/policies/policy-registry';
import type { PolicySource } from '../../src/policies/policy-source';
import { bundledPolicy, withPolicy } from '../support/bundled-policy';
import { claimFields, poePayload } from '../support/factories';
import { createTestApp } from '../support/test-app';
import { documentedRequest } from '../support/documented-requests';

/** A policy source whose one version can be replaced, as a reload does. */
function swappable(first: CompiledPolicy) {
  let source = staticPolicySource(first);
  const policies: PolicySource & { list: () => unknown } = {
    current: (at) => source.current(at),
    get: (ref) => source.get(ref),
    shadows: () => [],
    list: () => (source as unknown as { list: () => unknown }).list(),
  };
  return { policies, swap: (next: CompiledPolicy) => void (source = staticPolicySource(next)) };
}

const body = JSON.stringify({
  claim: { id: 'claim-kept', fields: claimFields(), status: 'submitted', poe: [poePayload({ customerSigned: false })] },
  asOf: '2026-03-02T18:00:00Z',
});

describe('kept answers of /v1/evaluate', () => {
  it('answers the same bytes again as evaluated afresh, and afresh again once the policy version object changes', async () => {
    const base = await bundledPolicy();
    const { policies, swap } = swappable(compilePolicy(base));
    const t = await createTestApp({ policies: policies as never });
    onTestFinished(() => t.close());
    const fresh = await createTestApp({ policies: policies as never, limits: { evaluationCacheSize: 0 } as never });
    onTestFinished(() => fresh.close());
    const send = async (app: typeof t, query = '') =>
      (
        await documentedRequest(app.app)
          .post(`/v1/evaluate${query}`)
          .set('Authorization', await app.bearer({ role: 'reviewer' }))
          .set('Content-Type', 'application/json')
          .send(body)
          .expect(200)
      ).body as { deficiencies: Array<{ code: string; description: string; found: boolean }> };

    const first = await send(t);
    expect(await send(t)).toEqual(first);
    expect(await send(fresh)).toEqual(first);
    const found = first.deficiencies.find((d) => d.found);
    expect(found).toBeDefined();

    // A reload with another text for that deficiency: the same bytes get the new policy's answer.
    swap(compilePolicy(withPolicy(base, (p) => void (p.deficiencies.find((d) => d.code === found!.code)!.description = 'Reworded after the reload'))));
    const after = await send(t);
    expect(after.deficiencies.find((d) => d.code === found!.code)!.description).toBe('Reworded after the reload');
    expect(await send(fresh)).toEqual(after);
    // An explained answer is worked out each time, and holds the decision-only answer's fields.
    const explained = await send(t, '?explain=full');
    expect(explained.deficiencies.map((d) => d.found)).toEqual(after.deficiencies.map((d) => d.found));
  });
});
