/**
 * Every scenario file, driven through the HTTP API on a real SQLite file while the
 * service's clock moves, ends as `cpor simulate` says it does.
 */
import { resolve } from 'node:path';
import { documentedRequest as request } from '../support/documented-requests';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/claim-types';
import { loadScenarioFile, type Scenario, type ScenarioActor } from '../../src/simulate/scenario';
import { runScenario } from '../../src/simulate/run-scenario';
import { scenarioFiles } from '../../src/cli/scenario-commands';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { createTestApp, type TestApp } from '../support/test-app';


const SCENARIOS = resolve(import.meta.dirname, '..', '..', 'scenarios');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

let files: string[] = [];
beforeAll(async () => {
  files = await scenarioFiles([SCENARIOS]);
});

function actorOf(by: ScenarioActor, claim: Record<string, unknown>, roles: Record<string, { kind: string }>): Actor {
  const actor: Actor = typeof by === 'string' ? { role: by } : { ...by };
  const kind = roles[actor.role]?.kind;
  const customer = claim.customer as { tenantId?: string } | undefined;
  if (kind === 'partner' && actor.partnerId === undefined) actor.partnerId = claim.partnerId as string;
  if (kind === 'customer' && actor.tenantId === undefined) actor.tenantId = customer?.tenantId;
  return actor;
}

interface Outcome {
  refused: boolean;
  code?: string;
}

/** Sends one scenario step as the HTTP request a client would make. */
async function send(t: TestApp, claimId: string | undefined, version: number | undefined, event: string, actor: Actor, payload: Record<string, unknown>) {
  const auth = await t.bearer(actor);
  const agent = request(t.app);
  const ifMatch = version === undefined ? {} : { 'if-match': `"${version}"` };
  if (event === 'create') return agent.post('/v1/claims').set('authorization', auth).send(payload);
  if (!claimId) throw new Error('no claim yet');
  if (event === 'edit') return agent.patch(`/v1/claims/${claimId}`).set('authorization', auth).set(ifMatch).send(payload);
  if (event === 'comment') return agent.post(`/v1/claims/${claimId}/comments`).set('authorization', auth).send(payload);
  if (event === 'uploadPoe') {
    const { fileName, ...fields } = payload;
    let req = agent.post(`/v1/claims/${claimId}/poe`).set('authorization', auth);
    for (const [name, value] of Object.entries(fields)) {
      req = req.field(name, Array.isArray(value) ? value.join(',') : String(value));
    }
    return req.attach('file', PDF, { filename: String(fileName ?? 'poe.pdf'), contentType: 'application/pdf' });
  }
  return agent.post(`/v1/claims/${claimId}/actions/${event}`).set('authorization', auth).set(ifMatch).send(payload);
}

async function driveOverHttp(t: TestApp, scenario: Scenario) {
  const roles = (await compiledBundledPolicy()).policy.roles;
  const claim = scenario.claim ?? {};
  let id: string | undefined;
  let version: number | undefined;
  const outcomes: Outcome[] = [];
  // Simulations number PoE ids (poe-1, …, one per upload sent, refused or not); the API gives its own.
  const poeIds = new Map<string, string>();
  let uploads = 0;
  for (const step of scenario.steps) {
    await t.advance('at' in step ? step.at : step.until);
    if (!('at' in step)) continue;
    if (id) {
      // The client reads the claim first, as it must for If-Match.
      const current = await request(t.app).get(`/v1/claims/${id}`).set('authorization', await t.bearer({ role: 'reviewer' }));
      version = current.body.version as number;
    }
    const actor = actorOf(step.by, claim, roles);
    let payload = step.do === 'create' ? { ...claim, ...(step.with ?? {}) } : (step.with ?? {});
    if (step.do === 'removePoe' && typeof payload.poeId === 'string') payload = { ...payload, poeId: poeIds.get(payload.poeId) ?? payload.poeId };
    const response = await send(t, id, version, step.do, actor, payload);
    if (response.status >= 500) throw new Error(`${step.do}: ${response.status} ${JSON.stringify(response.body)}`);
    const refused = response.status >= 400;
    if (step.do === 'uploadPoe' && !refused) poeIds.set(`poe-${uploads + 1}`, response.body.id);
    if (step.do === 'uploadPoe') uploads++;
    outcomes.push(refused ? { refused, code: response.body.code } : { refused });
    if (!refused && step.do === 'create') id = response.body.id;
  }
  const final = id
    ? (await request(t.app).get(`/v1/claims/${id}`).set('authorization', await t.bearer({ role: 'reviewer' }))).body
    : undefined;
  return { outcomes, final };
}

describe.each(SERVICE_DATABASES)('scenarios through HTTP on $name', (db) => {
  useDatabase(db);
  it('there are scenario files to drive', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it('every scenario ends through the API as cpor simulate says', async () => {
    const policy = await compiledBundledPolicy();
    const mismatches: string[] = [];
    for (const file of files) {
      const loaded = await loadScenarioFile(file);
      if (!loaded.ok) throw new Error(loaded.error);
      const scenario = loaded.scenario;
      const expected = await runScenario(scenario, { file, policy });
      // Each scenario has its own timeline: give it a fresh app on its own database.
      const app = await createTestApp({ database: db, start: '2020-01-01T00:00:00Z' });
      try {
        const { outcomes, final } = await driveOverHttp(app, scenario);
        const simulated = expected.timeline.filter((e) => e.by !== 'system');
        outcomes.forEach((outcome, i) => {
          const sim = simulated[i]!;
          const simCode = sim.refused?.code;
          // Over HTTP a claim the caller may not see is not found: that is how the API refuses another's claim.
          // sendForAssessment is the service's own event: the API offers no such action to anyone.
          const httpCode =
            (outcome.code === 'claimNotFound' && simCode === 'notYourClaim') ||
            (outcome.code === 'unknownAction' && simCode === 'forbiddenRole' && sim.event === 'sendForAssessment')
              ? simCode
              : outcome.code;
          if (outcome.refused !== Boolean(sim.refused) || (outcome.refused && httpCode !== simCode)) {
            mismatches.push(`${scenario.name}: step ${i + 1} ${sim.event}: http ${outcome.refused ? httpCode : 'applied'}, simulate ${simCode ?? 'applied'}`);
          }
        });
        const got = {
          status: final?.status ?? null,
          substatus: final?.substatus ?? null,
          reason: final?.reason ?? null,
          overdue: [...(final?.overdue ?? [])].sort(),
          deadlines: (final?.deadlines ?? []).map((d: { name: string; startedAt: string; dueAt: string; status: string }) => ({
            name: d.name,
            startedAt: d.startedAt,
            due: d.dueAt,
            outcome: d.status === 'running' || d.status === 'paused' ? 'pending' : d.status,
          })),
        };
        const want = { ...expected.final, overdue: [...expected.final.overdue].sort(), deadlines: expected.deadlines };
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          mismatches.push(`${scenario.name}: http ${JSON.stringify(got)}\n  simulate ${JSON.stringify(want)}`);
        }
      } finally {
        await app.close();
      }
    }
    expect(mismatches).toEqual([]);
  }, 300_000);
});
