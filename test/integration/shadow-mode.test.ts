/**
 * Shadow mode: a policy file with `shadow: true` is never in effect and never pinned; the
 * service evaluates it beside the live version on every transition (events and the events
 * deadlines send), changes no claim, and records each difference once in the decision log.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClaimService, type ClaimService } from '../../src/claims/claim-service';
import type { ClaimStore, StoredDecision } from '../../src/claims/claim-store';
import type { ShadowResult } from '../../src/claims/shadow';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { DATABASES, useDatabase, type StoreSetup } from '../support/databases';
import { ACTORS, claimFields, claimIn } from '../support/factories';
import { policyYaml } from '../support/policy-factory';
import { TEST_START } from '../support/test-app';

/** The candidate: effective after the live version (it would win, were it not a shadow), with a shorter reviewStart and OSU open to pre-sales. */
const SHADOW_OVERRIDES = {
  version: '2026.2-candidate',
  effective: '2026-02-01T00:00:00Z',
  shadow: true,
  deadlines: { reviewStart: { businessDays: 3 } },
  incentivePrograms: { 0: { eligibility: { all: [{ fact: 'productLines', operator: 'contains', value: 'microsoft365' }] } } },
};

let dir: string;
const registries: PolicyRegistry[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpor-shadow-'));
});
afterAll(async () => {
  for (const registry of registries) registry.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A registry over a fresh folder with the bundled policy, and the shadow candidate when `shadow`. */
async function registryWith(shadow: boolean): Promise<PolicyRegistry> {
  const folder = await mkdtemp(join(dir, shadow ? 'with-' : 'without-'));
  await writeFile(join(folder, 'cpor.yaml'), policyYaml());
  if (shadow) await writeFile(join(folder, 'cpor-candidate.yaml'), policyYaml(SHADOW_OVERRIDES));
  const registry = await createPolicyRegistry({ path: folder, clock: { now: () => new Date(TEST_START) } });
  registries.push(registry);
  return registry;
}

/** A service with sequential ids on a virtual clock. */
function serviceOn(store: ClaimStore, policies: PolicyRegistry | { current: PolicyRegistry['current']; get: PolicyRegistry['get']; shadows: () => CompiledPolicy[] }, logs: string[] = []) {
  const clock = createVirtualClock(new Date(TEST_START));
  const service = createClaimService({ store, policies, clock, ids: createSequentialIds(), log: (_level, message) => logs.push(message) });
  return { service, clock };
}

/** Two claims through the same steps: one approved and sent for assessment (a deadline sends it), one refused a submit first. */
async function traffic(service: ClaimService, clock: ReturnType<typeof createVirtualClock>) {
  const assessed = await claimIn(service, 'approved.sentForAssessment', { setClock: (at) => clock.set(at) });
  clock.set(new Date(Date.parse(clock.now().toISOString()) + 60_000));
  const { claim } = await service.create(ACTORS.partner, claimFields());
  await expect(service.act(claim.id, 'submit', ACTORS.partner, {})).rejects.toMatchObject({ code: 'requirementsNotMet' });
  return [assessed.id, claim.id];
}

async function allDecisions(store: ClaimStore, kind?: 'shadow'): Promise<StoredDecision[]> {
  const found: StoredDecision[] = [];
  for (;;) {
    const page = await store.pageAllDecisions({ limit: 100, ...(kind ? { kind } : {}), ...(found.length ? { after: found.at(-1)!.seq } : {}) });
    found.push(...page);
    if (page.length < 100) return found;
  }
}

describe('a shadow policy version in the registry', () => {
  it('is never the version in effect, whatever its effective instant, and is listed as a shadow of its program', async () => {
    const registry = await registryWith(true);
    expect(registry.current(new Date('2027-01-01T00:00:00Z')).policy.version).toBe('2026.1');
    expect(registry.shadows!('cpor').map((c) => c.policy.version)).toEqual(['2026.2-candidate']);
    expect(registry.shadows!('other')).toEqual([]);
    expect(registry.status().versions.find((v) => v.version === '2026.2-candidate')).toMatchObject({ shadow: true });
  });
});

for (const db of DATABASES) {
  describe(`shadow mode on ${db.name}`, () => {
    useDatabase(db);
    const setups: StoreSetup[] = [];
    const open = async () => {
      const setup = await db.setup();
      setups.push(setup);
      return setup.store;
    };
    afterEach(async () => {
      for (const setup of setups.splice(0)) await setup.teardown();
    });

    it('the shadow version never changes a claim: claims and histories are the same with and without a shadow file', async () => {
      const plain = await open();
      const shadowed = await open();
      const without = serviceOn(plain, await registryWith(false));
      const withShadow = serviceOn(shadowed, await registryWith(true));
      const ids = await traffic(without.service, without.clock);
      expect(await traffic(withShadow.service, withShadow.clock)).toEqual(ids);

      for (const id of ids) {
        expect(await shadowed.getClaim(id)).toEqual(await plain.getClaim(id));
        expect(await shadowed.listHistory(id)).toEqual(await plain.listHistory(id));
        const history = await shadowed.listHistory(id);
        expect(new Set(history.map((entry) => entry.policy.version))).toEqual(new Set(['2026.1']));
      }
      // The live decision log is the same; the shadow one holds the differences.
      const live = (await allDecisions(shadowed)).filter((d) => d.record.kind !== 'shadow').map((d) => d.record);
      expect(live).toEqual((await allDecisions(plain)).map((d) => d.record));
      expect(await allDecisions(plain, 'shadow')).toEqual([]);
    });

    it('records each difference once, with what each version decided, also when steps are recorded again (replays, retries)', async () => {
      const store = await open();
      // Every shadow record reaches the store twice, as a retry after a lost answer would send it.
      const twice: ClaimStore = {
        ...store,
        async recordShadowDecisions(records) {
          await store.recordShadowDecisions(records);
          await store.recordShadowDecisions(records);
        },
      };
      const { service, clock } = serviceOn(twice, await registryWith(true));
      const [assessedId, refusedId] = await traffic(service, clock);
      const shadow = (await allDecisions(store, 'shadow')).map((d) => d.record);

      const summary = shadow.map((d) => {
        const result = d.result as ShadowResult;
        return [d.claimId, result.event, result.differences.map((x) => x.kind).join(',')];
      });
      expect(summary).toEqual([
        // The candidate's reviewStart is 3 business days: it would set another due date at submission.
        [assessedId, 'submit', 'deadlines'],
        // Sent for assessment by the consent window: OSU needs no activity in the candidate.
        [assessedId, 'consentWindowDue', 'eligibility'],
      ]);
      const submit = shadow[0]!.result as ShadowResult;
      expect(submit.live.policy).toEqual({ id: 'cpor', version: '2026.1' });
      expect(shadow[0]!.policy).toEqual({ id: 'cpor', version: '2026.2-candidate' });
      expect(submit.differences[0]!.live).toEqual(expect.arrayContaining([expect.stringMatching(/^reviewStart /)]));
      expect(submit.differences[0]!.shadow).not.toEqual(submit.differences[0]!.live);
      expect(submit.seq).toBe(3);
      const eligibility = (shadow[1]!.result as ShadowResult).differences[0]!;
      expect(eligibility).toEqual({ kind: 'eligibility', live: [], shadow: ['OSU'] });
      expect(refusedId).toBeDefined();

      // The same records stored again (a replay through another connection) add nothing.
      await store.recordShadowDecisions(shadow);
      expect(await allDecisions(store, 'shadow')).toHaveLength(2);
    });

    it('a shadow version that throws is logged and never fails the transition', async () => {
      const store = await open();
      const registry = await registryWith(true);
      const [candidate] = registry.shadows!('cpor');
      const broken: CompiledPolicy = {
        ...candidate!,
        rules: {
          ...candidate!.rules,
          evaluateDeficiencies: () => Promise.reject(new Error('the candidate broke')),
        },
      };
      const logs: string[] = [];
      const { service } = serviceOn(store, { current: (at) => registry.current(at), get: (ref) => registry.get(ref), shadows: () => [broken] }, logs);
      const { claim } = await service.create(ACTORS.partner, claimFields());
      expect(claim.status).toBe('editing');
      expect(logs).toEqual([expect.stringContaining('Shadow policy cpor 2026.2-candidate failed on create: the candidate broke')]);
      expect(await allDecisions(store, 'shadow')).toEqual([]);
    });
  });
}
