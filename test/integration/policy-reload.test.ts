import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import { startService, type RunningService } from '../../src/server';
import { createVirtualClock } from '../../src/simulate/run-scenario';
import { BUNDLED_POLICY_PATH } from '../support/bundled-policy';
import { bundledPolicyText } from '../support/policy-factory';
import { ACTORS, claimFields, poePayload } from '../support/factories';
import { SERVICE_DATABASES, useDatabase, type DatabaseFixture } from '../support/databases';

const PARTNER = ACTORS.partner;
const POE = poePayload();

const running: RunningService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** A service on a fresh database of `db`, watching a policies folder of its own, holding the bundled policy (version 2026.1). */
async function serviceWithPolicyFolder(db: DatabaseFixture) {
  const policies = mkdtempSync(join(tmpdir(), 'cpor-policies-'));
  copyFileSync(BUNDLED_POLICY_PATH, join(policies, 'cpor.yaml'));
  const config = loadConfig(
    { DATA_DIR: mkdtempSync(join(tmpdir(), 'cpor-data-')), PORT: '0', LOG_LEVEL: 'silent', CPOR_POLICY: policies, ...(await db.serviceEnv()) },
    { policyPath: policies },
  );
  const clock = createVirtualClock(new Date('2026-07-01T16:00:00Z'));
  const service = await startService(config, { clock, logger: pino({ level: 'silent' }), startScheduler: false });
  running.push(service);
  return { service, policies, clock };
}

/** The bundled policy as version 2026.2, in effect from June 2026, with partners given 10 business days. */
const VERSION_2 = () =>
  bundledPolicyText()
    .replace('version: "2026.1"', 'version: "2026.2"')
    .replace('effective: 2026-01-01T00:00:00Z', 'effective: 2026-06-01T00:00:00Z')
    .replace(/(partnerResponse:[\s\S]*?businessDays: )5/, '$110');

const readiness = async (s: RunningService) => (await fetch(`${s.url}/readyz`)).json() as Promise<{ details: { policies: { broken: Array<{ file: string; errors: string[] }> }; policy: { version: string } } }>;

describe.each(SERVICE_DATABASES)('policy versions while the service runs on $name', (db) => {
  useDatabase(db);
  it('a broken policy file dropped into the folder leaves the service on the previous version and says so in /readyz', async () => {
    const { service, policies } = await serviceWithPolicyFolder(db);
    writeFileSync(join(policies, 'candidate.yaml'), bundledPolicyText().replace('version: "2026.1"', 'version: "2026.9"').replace('runsIn: [submitted]', 'runsIn: [submited]'));
    await vi.waitFor(async () => expect((await readiness(service)).details.policies.broken).toHaveLength(1), { timeout: 8000, interval: 100 });
    const ready = await readiness(service);
    expect(ready.details.policy.version).toBe('2026.1');
    expect(ready.details.policies.broken[0]!.errors.join('\n')).toMatch(/candidate\.yaml:\d+:\d+ error unknownState/);
    const { claim } = await service.service.create(PARTNER, claimFields());
    expect(claim.policy).toEqual({ id: 'cpor', version: '2026.1' });
  });

  it('a valid new version is picked up without a restart; submitted claims keep the version they were submitted under', async () => {
    const { service, policies } = await serviceWithPolicyFolder(db);
    const submitted = (await service.service.create(PARTNER, claimFields())).claim;
    await service.service.act(submitted.id, 'uploadPoe', PARTNER, POE);
    await service.service.act(submitted.id, 'submit', PARTNER, {});
    const editing = (await service.service.create(PARTNER, claimFields())).claim;

    writeFileSync(join(policies, 'cpor-2026.2.yaml'), VERSION_2());
    await vi.waitFor(async () => expect((await readiness(service)).details.policy.version).toBe('2026.2'), { timeout: 8000, interval: 100 });

    const edited = await service.service.act(editing.id, 'edit', PARTNER, { mpnId: '4512399' });
    expect(edited.claim.policy.version).toBe('2026.2');
    const stillPinned = await service.service.act(submitted.id, 'comment', PARTNER, { text: 'Any news?' });
    expect(stillPinned.claim.policy.version).toBe('2026.1');
    const history = await service.service.history(editing.id);
    expect(history.map((e) => e.policy.version)).toEqual(['2026.1', '2026.2']);
  });
});
