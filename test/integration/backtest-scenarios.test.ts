/**
 * Backtests over the claims the scenarios produce, stored in SQLite: under a candidate
 * with one changed deadline, the claims reported changed are exactly the scenarios
 * whose outcome differs when each is simulated under both policies on its own.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backtestCommand, type BacktestCommandOptions } from '../../src/cli/backtest-command';
import { runBacktest, type BacktestReport } from '../../src/backtest/backtest';
import { toCsv } from '../../src/backtest/backtest-report';
import type { ClaimResult } from '../../src/backtest/stream-backtest';
import { knexClaimSource } from '../../src/db/backtest-batches';
import { runParallelBacktest } from '../../src/workers/parallel-backtest';
import { createWorkerPool } from '../../src/workers/worker-pool';
import { createClaimService } from '../../src/claims/claim-service';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { singlePolicySource } from '../../src/policies/policy-source';
import { main } from '../../src/cli';
import { DomainError } from '../../src/domain/errors';
import type { Actor } from '../../src/domain/claim-types';
import { loadCompiledPolicy } from '../../src/simulate/policy-files';
import { runScenario, type ScenarioResult } from '../../src/simulate/run-scenario';
import { loadScenarioFile, type Scenario, type ScenarioActor } from '../../src/simulate/scenario';
import { scenarioFiles } from '../../src/cli/scenario-commands';
import { sqliteDatabase, useDatabase, type StoreSetup } from '../support/databases';
import { BUNDLED_POLICY_PATH, policyYaml, type PolicyOverrides } from '../support/policy-factory';

const SCENARIOS = resolve(import.meta.dirname, '..', '..', 'scenarios');
/** After every scenario's last step: both the backtest and the independent runs go this far. */
const UNTIL = new Date('2028-01-01T00:00:00Z');

interface Loaded {
  /** The claim id in the shared store: the scenario file's name. */
  id: string;
  file: string;
  scenario: Scenario;
}

const CANDIDATES = {
  'partnerResponse 5 → 10 business days': { deadlines: { partnerResponse: { businessDays: 10 } } },
  'consentWindow 7 → 3 days': { deadlines: { consentWindow: { days: 3 } } },
} as const;

let bundled: CompiledPolicy;
let scenarios: Loaded[];
let db: StoreSetup;
let candidateFiles: Record<keyof typeof CANDIDATES, string>;
let tempDir: string;

/** The actor of a step as the scenario runner resolves it: partner roles act for the claim's partner, customers for its tenant. */
function actorOf(by: ScenarioActor, fields: Record<string, unknown>, roles: Record<string, { kind: string }>): Actor {
  const actor: Actor = typeof by === 'string' ? { role: by } : { ...by };
  const kind = roles[actor.role]?.kind;
  const f = fields as { partnerId?: string; customer?: { tenantId?: string } };
  if (kind === 'partner' && actor.partnerId === undefined && f.partnerId !== undefined) actor.partnerId = f.partnerId;
  if (kind === 'customer' && actor.tenantId === undefined && f.customer?.tenantId !== undefined) actor.tenantId = f.customer.tenantId;
  return actor;
}

/**
 * Drives every scenario's steps through ONE claim service over the shared store. The
 * scenarios are not one timeline, so the clock is set before each call (the service
 * reads it only then); a refused step changes nothing, as in the scenario runner.
 */
async function storeScenarios(setup: StoreSetup, policy: CompiledPolicy, loaded: readonly Loaded[]) {
  let now = UNTIL;
  let prefix = '';
  let poes = 0;
  let claimName = '';
  const service = createClaimService({
    store: setup.store,
    policy,
    clock: { now: () => now },
    ids: { next: (kind) => (kind === 'claim' ? claimName : `${prefix}-poe-${++poes}`) },
  });
  for (const { id, scenario } of loaded) {
    prefix = id;
    claimName = id;
    poes = 0;
    let created = false;
    const claimFields = scenario.claim ?? {};
    for (const step of scenario.steps) {
      if (!('at' in step)) {
        now = new Date(step.until);
        await service.fireDue(now);
        continue;
      }
      now = new Date(step.at);
      const fields = created ? (await service.getClaim(id)).snapshot.context.fields : claimFields;
      const actor = actorOf(step.by, fields as Record<string, unknown>, policy.policy.roles);
      try {
        if (step.do === 'create') {
          await service.create(actor, { ...claimFields, ...(step.with ?? {}) });
          created = true;
        } else if (created) {
          await service.act(id, step.do, actor, step.with ?? {});
        }
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
      }
    }
  }
  now = UNTIL;
  await service.fireDue(UNTIL);
}

/** What a scenario's run ends with: status, reason, overdue flags, deadline runs (due instant and outcome), refusals. */
function outcomeOf(result: ScenarioResult) {
  return {
    status: result.final.status ?? 'notCreated',
    substatus: result.final.substatus,
    reason: result.final.reason,
    overdue: [...result.final.overdue].sort(),
    deadlines: result.deadlines.map((d) => ({ name: d.name, dueAt: d.due, outcome: d.outcome })),
    refused: result.timeline.filter((t) => t.refused).map((t) => `${t.at} ${t.event} ${t.refused!.code}`),
  };
}

/** Scenarios whose independent run under `candidate` (with an `until` step at UNTIL) ends differently from under the bundled policy. */
async function independentlyChanged(candidate: CompiledPolicy) {
  const changed: string[] = [];
  const statusChanged: string[] = [];
  for (const { id, file, scenario } of scenarios) {
    const extended: Scenario = { ...scenario, steps: [...scenario.steps, { until: UNTIL.toISOString(), line: 0 }] };
    const before = outcomeOf(await runScenario(extended, { file, policy: bundled }));
    const after = outcomeOf(await runScenario(extended, { file, policy: candidate }));
    if (JSON.stringify(before) !== JSON.stringify(after)) changed.push(id);
    const final = (o: typeof before) => JSON.stringify([o.status, o.substatus, o.reason, o.overdue]);
    if (final(before) !== final(after)) statusChanged.push(id);
  }
  return { changed: changed.sort(), statusChanged: statusChanged.sort() };
}

const changedIds = (report: BacktestReport) => report.claims.filter((c) => c.changed).map((c) => c.claimId).sort();

describe('backtest over the claims the scenarios produced (SQLite)', () => {
  useDatabase(sqliteDatabase);

  beforeAll(async () => {
    bundled = await loadCompiledPolicy(BUNDLED_POLICY_PATH);
    const files = await scenarioFiles([SCENARIOS]);
    scenarios = [];
    for (const file of files) {
      const loaded = await loadScenarioFile(file);
      if (!loaded.ok) throw new Error(loaded.error);
      // Every bundled scenario runs under the bundled policy; one naming another would need its own baseline.
      expect(loaded.scenario.policy).toBeUndefined();
      scenarios.push({ id: basename(file).replace(/\.ya?ml$/, ''), file, scenario: loaded.scenario });
    }
    tempDir = mkdtempSync(join(tmpdir(), 'cpor-backtest-'));
    candidateFiles = {} as typeof candidateFiles;
    for (const [name, overrides] of Object.entries(CANDIDATES) as Array<[keyof typeof CANDIDATES, PolicyOverrides]>) {
      const file = join(tempDir, `${name.split(' ')[0]}.yaml`);
      writeFileSync(file, policyYaml(overrides));
      candidateFiles[name] = file;
    }
    db = await sqliteDatabase.setup();
    await storeScenarios(db, bundled, scenarios);
  }, 120_000);

  afterAll(async () => {
    await db?.teardown();
  });

  it('stores one claim per scenario that creates one', async () => {
    const ids = await db.store.allClaimIds();
    expect(ids.length).toBeGreaterThan(40);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(scenarios.map((s) => s.id)).toContain(id);
  });

  it('the stored claims are what each scenario produces on its own', async () => {
    for (const { id, file, scenario } of scenarios) {
      const extended: Scenario = { ...scenario, steps: [...scenario.steps, { until: UNTIL.toISOString(), line: 0 }] };
      const alone = await runScenario(extended, { file, policy: bundled });
      const stored = await db.store.getClaim(id);
      expect({ id, status: stored?.status ?? null, reason: stored?.reason ?? null, overdue: stored?.overdue ?? [] }).toEqual({
        id,
        status: alone.final.status,
        reason: alone.final.reason,
        overdue: alone.final.overdue,
      });
    }
  });

  it('under the policy the claims follow, nothing changes', async () => {
    const report = await runBacktest({ store: db.store, policies: singlePolicySource(bundled), candidate: bundled, until: UNTIL });
    expect(report.skipped).toEqual([]);
    expect(report.totals.claims).toBe((await db.store.allClaimIds()).length);
    expect(changedIds(report)).toEqual([]);
  });

  it.each(Object.keys(CANDIDATES) as Array<keyof typeof CANDIDATES>)(
    'with %s, exactly the scenarios whose outcome differs are reported changed',
    async (name) => {
      const candidate = await loadCompiledPolicy(candidateFiles[name]);
      const expected = await independentlyChanged(candidate);
      const report = await runBacktest({ store: db.store, policies: singlePolicySource(bundled), candidate, until: UNTIL });
      expect(report.skipped).toEqual([]);
      expect(expected.changed.length).toBeGreaterThan(0);
      expect(changedIds(report)).toEqual(expected.changed);
      // The claims whose final status, reason or overdue flags differ are among them, and reported with those fields.
      const finalFields = new Set(['status', 'substatus', 'reason', 'overdue']);
      const statusChanged = report.claims.filter((c) => c.changes.some((ch) => finalFields.has(ch.field))).map((c) => c.claimId);
      expect(statusChanged.sort()).toEqual(expected.statusChanged);
      // The same answer when every baseline is replayed instead of read from the store.
      const full = await runBacktest({
        store: db.store,
        policies: singlePolicySource(bundled),
        candidate,
        until: UNTIL,
        fullReplay: true,
      });
      expect(full.claims).toEqual(report.claims);
    },
    60_000,
  );

  it('untimed, every replay goes through its worker\'s rule cache, and the streamed results are runBacktest\'s, claim by claim', async () => {
    const candidate = await loadCompiledPolicy(candidateFiles['partnerResponse 5 → 10 business days']);
    const pool = createWorkerPool({ size: 2 });
    try {
      const results: ClaimResult[] = [];
      const result = await runParallelBacktest({
        source: knexClaimSource(db.knex!),
        pool,
        workers: 2,
        candidate: candidate.policy,
        policies: { programId: bundled.policy.id, versions: [{ policy: bundled.policy, effectiveMs: -Infinity, file: BUNDLED_POLICY_PATH, digest: 'bundled', active: true }] },
        until: UNTIL,
        batchSize: 10,
        onResult: (claim) => void results.push(claim),
      });
      const direct = await runBacktest({ store: db.store, policies: singlePolicySource(bundled), candidate, until: UNTIL, fullReplay: true });
      expect(direct.totals.changed).toBeGreaterThan(0);
      expect(results.flatMap((r) => (r.kind === 'claim' ? [r.claim] : []))).toEqual(direct.claims);
      expect(result.latency).toBeNull();
      expect(result.ruleCache?.hits).toBeGreaterThan(0);
      expect(result.ruleCache?.misses).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  }, 120_000);

  describe('cpor backtest', () => {
    const sqliteFile = () => (db.knex!.client.config as { connection: { filename: string } }).connection.filename;
    const env = () => ({ DATA_DIR: dirname(sqliteFile()), CPOR_POLICY: BUNDLED_POLICY_PATH });
    const run = async (options: Partial<BacktestCommandOptions> & { policy: string }, tty = false) => {
      let stdout = '';
      let stderr = '';
      const out = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };
      const code = await backtestCommand({ until: UNTIL.toISOString(), ...options }, out, { env: env(), stderrIsTTY: tty });
      return { code, stdout, stderr };
    };

    it.each(Object.keys(CANDIDATES) as Array<keyof typeof CANDIDATES>)(
      'with %s, the streaming parallel backtest (--format json) reports what the one-core runBacktest does, claim by claim',
      async (name) => {
        const file = candidateFiles[name];
        const { code, stdout } = await run({ policy: file, format: 'json', workers: '2' });
        expect(code).toBe(0);
        const report = JSON.parse(stdout) as BacktestReport & { latency: { claims: number } };
        const direct = await runBacktest({
          store: db.store,
          policies: singlePolicySource(bundled),
          candidate: await loadCompiledPolicy(file),
          until: UNTIL,
        });
        expect(direct.totals.changed).toBeGreaterThan(0);
        expect(report.claims).toEqual(direct.claims);
        expect(report.skipped).toEqual(direct.skipped);
        const { durationMs: _a, byStatus: _b, byReason: _c, ...totals } = report.totals as BacktestReport['totals'] & { byStatus: unknown; byReason: unknown };
        const { durationMs: _d, ...directTotals } = direct.totals;
        expect(totals).toEqual(directTotals);
        // The totals come at the end, after every claim.
        expect(Object.keys(report)).toEqual(['candidate', 'until', 'since', 'claims', 'skipped', 'totals', 'latency']);
        expect(report.latency.claims).toBe(direct.totals.claims);
      },
    );

    it('--format jsonl writes one claim per line and the totals last; csv the same rows as toCsv', async () => {
      const file = candidateFiles['consentWindow 7 → 3 days'];
      const lines = (await run({ policy: file, format: 'jsonl' })).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string });
      const direct = await runBacktest({ store: db.store, policies: singlePolicySource(bundled), candidate: await loadCompiledPolicy(file), until: UNTIL });
      expect(lines.slice(0, -1).map(({ type: _t, ...claim }) => claim)).toEqual(direct.claims);
      expect(lines.at(-1)).toMatchObject({ type: 'totals', totals: { claims: direct.totals.claims, changed: direct.totals.changed } });
      expect((await run({ policy: file, format: 'csv' })).stdout).toBe(toCsv(direct));
    });

    it('--exit-code exits 1 when a claim changes, 0 when none does', async () => {
      expect((await run({ policy: candidateFiles['consentWindow 7 → 3 days'], exitCode: true })).code).toBe(1);
      expect((await run({ policy: BUNDLED_POLICY_PATH, exitCode: true })).code).toBe(0);
    });

    it('--since keeps the claims created from that local date on', async () => {
      const { stdout } = await run({ policy: BUNDLED_POLICY_PATH, format: 'json', since: '2027-01-01' });
      const report = JSON.parse(stdout) as BacktestReport;
      // 00:00 in Los Angeles on Jan 1, 2027.
      expect(report.since).toBe('2027-01-01T08:00:00.000Z');
      expect(report.totals.claims).toBeGreaterThan(0);
      for (const { claimId } of report.claims) {
        expect(Date.parse((await db.store.getClaim(claimId))!.createdAt)).toBeGreaterThanOrEqual(Date.parse(report.since!));
      }
    });

    it('--out writes the CSV report and prints the summary', async () => {
      const target = join(tempDir, 'report.csv');
      const { code, stdout } = await run({ policy: candidateFiles['partnerResponse 5 → 10 business days'], format: 'csv', out: target });
      expect(code).toBe(0);
      const rows = readFileSync(target, 'utf8').split('\r\n').filter(Boolean);
      expect(rows[0]!.startsWith('claimId,changed,')).toBe(true);
      expect(rows.length - 1).toBe((await db.store.allClaimIds()).length);
      expect(stdout).toMatch(/^Backtest of policy cpor 2026\.1 until 2028-01-01T00:00:00\.000Z\n\d+ claims: \d+ changed/);
    });

    it('progress: plain lines without control characters off a terminal, a redrawn bar on one', async () => {
      const plain = await run({ policy: BUNDLED_POLICY_PATH });
      expect(plain.stderr).toMatch(/^backtest: 0\/\d+ claims {2}\d+\.\d s\n/);
      expect(plain.stderr).toMatch(/backtest: (\d+)\/\1 claims {2}\d+\.\d s\n$/);
      // eslint-disable-next-line no-control-regex
      expect(plain.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      const tty = await run({ policy: BUNDLED_POLICY_PATH }, true);
      expect(tty.stderr).toMatch(/^\r\[\.{20}\] 0\/\d+ claims/);
      expect(tty.stderr).toMatch(/\r\[#{20}\] (\d+)\/\1 claims {2}\d+\.\d s\n$/);
    });

    it('a broken candidate policy prints its located errors and exits 1', async () => {
      const broken = join(tempDir, 'broken.yaml');
      writeFileSync(broken, policyYaml({ deadlines: { partnerResponse: { businessDays: 'ten' } } }));
      const { code, stdout, stderr } = await run({ policy: broken });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toContain(`the candidate policy ${broken} does not load:`);
      expect(stderr).toMatch(new RegExp(`${broken.replaceAll('.', '\\.')}:\\d+:\\d+ error \\S+ \\$\\.deadlines\\.partnerResponse`));
    });

    it('is wired into the cpor command', async () => {
      vi.stubEnv('DATA_DIR', env().DATA_DIR);
      vi.stubEnv('CPOR_POLICY', BUNDLED_POLICY_PATH);
      vi.stubEnv('DATABASE_URL', '');
      try {
        let stdout = '';
        const out = { stdout: (s: string) => void (stdout += s), stderr: () => {} };
        const file = candidateFiles['consentWindow 7 → 3 days'];
        expect(await main(['backtest', '--policy', file, '--until', UNTIL.toISOString(), '--format', 'json'], out)).toBe(0);
        expect((JSON.parse(stdout) as BacktestReport).totals.changed).toBeGreaterThan(0);
        stdout = '';
        expect(await main(['backtest', '--help'], out)).toBe(0);
        expect(stdout).toContain('--exit-code');
        expect(await main(['backtest'], out)).toBe(2);
        expect(await main(['backtest', '--policy', file, '--format', 'xml'], out)).toBe(2);
      } finally {
        vi.unstubAllEnvs();
      }
    });
  });
});
