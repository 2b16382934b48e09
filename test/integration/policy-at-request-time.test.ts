/**
 * Routes read the policy when a request comes, not when the app was built: a version
 * loaded into the registry while the service runs, or one that takes effect later, is
 * what `?overdue=` accepts and what `/openapi.json` describes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { httpHelpers } from '../support/http-requests';
import { policyYaml } from '../support/policy-factory';
import { createTestApp, type TestApp } from '../support/test-app';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';

/** Version 2026.2, in effect from 1 April 2026, adds a one-business-day `triage` escalation on submitted claims. */
const VERSION_2 = policyYaml({
  version: '2026.2',
  effective: '2026-04-01T00:00:00Z',
  deadlines: { triage: { description: 'A first look within a business day.', runsIn: ['submitted'], businessDays: 1, onDue: { escalate: true } } },
});

describe.each(SERVICE_DATABASES)('policy versions loaded while the app runs on $name', (db) => {
  useDatabase(db);
  let dir: string;
  let registry: PolicyRegistry;
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cpor-policies-'));
    writeFileSync(join(dir, 'cpor-2026.1.yaml'), policyYaml());
    const clock = { now: () => t?.clock.now() ?? new Date('2026-03-02T17:00:00Z') };
    registry = await createPolicyRegistry({ path: dir, clock });
    t = await createTestApp({ database: db, policies: registry });
    h = httpHelpers(t);
  });
  afterEach(async () => {
    registry.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const load = async (file: string, yaml: string) => {
    writeFileSync(join(dir, file), yaml);
    const outcome = await registry.reload();
    expect(outcome).toMatchObject({ added: [expect.objectContaining({ version: '2026.2' })], broken: [] });
  };
  const overdue = async (name: string) => h.api().get(`/v1/claims?overdue=${name}`).set('Authorization', await h.auth('reviewer'));

  it('?overdue= accepts a deadline a version loaded since start adds, and lists the claims overdue on it once that version is in effect', async () => {
    const before = await overdue('triage');
    expect(before.status).toBe(400);
    expect(before.body.errors.map((e: { path: string }) => e.path)).toEqual(['$.overdue']);

    await load('cpor-2026.2.yaml', VERSION_2);
    const accepted = await overdue('triage');
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.items).toEqual([]);

    await t.advance('2026-04-01T16:00:00Z');
    const id = await h.submittedClaim();
    expect((await h.getClaim(id)).body.policy).toEqual({ id: 'cpor', version: '2026.2' });
    await t.advance('2026-04-03T16:00:00Z');
    const listed = await overdue('triage');
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    // A deadline of the version no longer in effect is still a name claims pinned to it may be overdue on.
    expect((await overdue('reviewStart')).status).toBe(200);
  });

  it('/openapi.json follows the versions: a loaded version\'s deadline names at once, the version in effect when it takes effect', async () => {
    const overdueParameter = (doc: { paths: Record<string, { get: { parameters: Array<{ name: string; schema: { enum?: string[] } }> } }> }) =>
      doc.paths['/v1/claims']!.get.parameters.find((p) => p.name === 'overdue')!.schema.enum;
    const first = (await h.api().get('/openapi.json')).body;
    expect(first.info.description).toContain('cpor 2026.1');
    expect(overdueParameter(first)).not.toContain('triage');

    await load('cpor-2026.2.yaml', VERSION_2);
    const reloaded = (await h.api().get('/openapi.json')).body;
    expect(overdueParameter(reloaded)).toContain('triage');
    expect(reloaded.info.description).toContain('cpor 2026.1');

    await t.advance('2026-04-01T00:00:00Z');
    const later = (await h.api().get('/openapi.json')).body;
    expect(later.info.description).toContain('cpor 2026.2');
  });
});
