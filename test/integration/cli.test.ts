import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli';
import { createDatabase, migrateLatest } from '../../src/db/database';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { bundledPolicyText } from '../support/policy-factory';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCENARIO = join(ROOT, 'scenarios', 'partner-never-answers.yaml');

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('cpor simulate --json', () => {
  it("prints DESIGN.md's object for each file, to the key", async () => {
    const { code, stdout } = await run('simulate', SCENARIO, '--json');
    expect(code).toBe(0);
    const [result] = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(['name', 'file', 'policy', 'passed', 'failures', 'final', 'timeline', 'deadlines']);
    expect(Object.keys(result.policy)).toEqual(['id', 'version']);
    expect(Object.keys(result.final)).toEqual(['status', 'substatus', 'reason', 'overdue']);
    for (const entry of result.timeline) {
      expect(Object.keys(entry).filter((k) => k !== 'refused')).toEqual(['at', 'by', 'event', 'from', 'to']);
      expect(entry.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    const refused = result.timeline.find((e: { refused?: unknown }) => e.refused);
    expect(Object.keys(refused.refused)).toEqual(['code', 'message']);
    for (const d of result.deadlines) {
      expect(Object.keys(d)).toEqual(['name', 'startedAt', 'due', 'outcome']);
      expect(['fired', 'met', 'pending']).toContain(d.outcome);
    }
    expect(result).toMatchObject({
      passed: true,
      failures: [],
      policy: { id: 'cpor', version: '2026.1' },
      final: { status: 'rejected', substatus: null, reason: 'noPartnerResponse', overdue: [] },
    });
    expect(result.deadlines).toContainEqual({
      name: 'partnerResponse',
      startedAt: '2026-03-05T16:00:00.000Z',
      due: '2026-03-13T07:00:00.000Z',
      outcome: 'fired',
    });
  });

  it('a file without expectations has passed: null', async () => {
    const text = (await import('node:fs')).readFileSync(SCENARIO, 'utf8').replace(/\nexpect:[\s\S]*$/, '\n').replace(', expect: { refused: fieldNotEditable }', '');
    const file = tempFile('no-expect.yaml', text.replace('with: { activity: usage }', 'with: { mpnId: "4599999" }'));
    const { stdout } = await run('simulate', file, '--json');
    expect(JSON.parse(stdout)[0].passed).toBeNull();
  });

  it('a failing expectation exits 1 and says what differed', async () => {
    const text = (await import('node:fs')).readFileSync(SCENARIO, 'utf8').replace('reason: noPartnerResponse', 'reason: customerDecline');
    const { code, stdout } = await run('simulate', tempFile('wrong.yaml', text), '--json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)[0].failures).toEqual(['expect: expected reason "customerDecline", got "noPartnerResponse"']);
  });

  it('a scenario whose policy is broken fails with the located policy error, without a crash', async () => {
    const policy = tempFile('broken.yaml', bundledPolicyText().replace('runsIn: [submitted]\n', 'runsIn: [submited]\n'));
    const text = (await import('node:fs')).readFileSync(SCENARIO, 'utf8').replace('name: ', `policy: ${policy}\nname: `);
    const { code, stdout } = await run('simulate', tempFile('s.yaml', text), '--json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)[0].failures[0]).toMatch(/broken\.yaml:\d+:\d+ error unknownState/);
  });

  it('a scenario that is not valid YAML fails with its file and line', async () => {
    const { code, stdout } = await run('simulate', tempFile('bad.yaml', 'name: x\nsteps:\n  - { at: 2026-03-02T09:00:00Z, by: reviewer, do: fly }\n'), '--json');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)[0].failures[0]).toMatch(/bad\.yaml:3:\d+: .*do/);
  });
});

describe('cpor policy lint', () => {
  it('a broken policy exits 1 with FILE:LINE:COLUMN, code and JSON path', async () => {
    const file = tempFile('p.yaml', bundledPolicyText().replace('businessDays: 5\n    onDue: { escalate: true }', 'businessDays: 5\n    onDue: { escalate: true }\n    pausedIn: [submitted]'));
    const { code, stdout } = await run('policy', 'lint', file);
    expect(code).toBe(1);
    expect(stdout).toMatch(/p\.yaml:\d+:\d+ error deadlineNeverStarts \$\.deadlines\.reviewStart/);
  });

  it('a file that does not exist is reported, not thrown', async () => {
    const { code, stdout } = await run('policy', 'lint', '/nonexistent/policy.yaml');
    expect(code).toBe(1);
    expect(stdout).toContain('fileNotFound');
  });
});

describe('cpor test', () => {
  it('runs the bundled scenarios and closes with "N passed, 0 failed"', async () => {
    const { code, stdout } = await run('test', join(ROOT, 'scenarios'));
    expect(stdout).toMatch(/^\d+ passed, 0 failed/m);
    expect(code).toBe(0);
  });

  it('exits 1 when a scenario fails', async () => {
    const text = (await import('node:fs')).readFileSync(SCENARIO, 'utf8').replace('status: rejected', 'status: approved');
    const { code, stdout } = await run('test', tempFile('f.yaml', text));
    expect(code).toBe(1);
    expect(stdout).toContain('0 passed, 1 failed');
  });
});

describe('help', () => {
  it('every command the command list names answers --help with its usage, exit 0', async () => {
    const { stdout: list } = await run('--help');
    const names = [...list.matchAll(/^ {2}cpor ([a-z]+(?: [a-z]+)?)/gm)].map((m) => m[1]!.replace(/ [A-Z].*$/, ''));
    expect(names).toEqual(expect.arrayContaining(['policy lint', 'policy diff', 'simulate', 'test', 'evaluate', 'serve', 'token', 'backtest', 'audit verify']));
    for (const name of names) {
      const { code, stdout, stderr } = await run(...name.split(' '), '--help');
      expect({ name, code, stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(stdout).toMatch(new RegExp(`^usage: cpor ${name}`));
    }
  });

  it.each([
    ['policy', ['lint', 'diff']],
    ['audit', ['verify']],
  ])('cpor %s --help lists its subcommands, exit 0', async (group, subcommands) => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout } = await run(group, flag);
      expect(code).toBe(0);
      for (const sub of subcommands) expect(stdout).toContain(`cpor ${group} ${sub}`);
    }
  });

  it('cpor --version prints the package version', async () => {
    const { code, stdout } = await run('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe((await import('../../package.json', { with: { type: 'json' } })).default.version);
  });

  it('an unknown command exits 2 with the command list', async () => {
    const { code, stderr } = await run('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain('cpor simulate');
  });

  it('an unknown option exits 2 with the usage', async () => {
    const { code, stderr } = await run('simulate', '--jsn', SCENARIO);
    expect(code).toBe(2);
    expect(stderr).toContain('usage: cpor simulate');
  });
});

describe('cpor serve configuration', () => {
  it('a bad value stops the start with a message naming each bad variable, exit 1', async () => {
    const saved = { PORT: process.env.PORT, LOG_LEVEL: process.env.LOG_LEVEL, DATABASE_URL: process.env.DATABASE_URL };
    Object.assign(process.env, { PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    try {
      const { code, stderr } = await run('serve');
      expect(code).toBe(1);
      expect(stderr).toContain('PORT="eighty": expected a whole number from 0 to 65535');
      expect(stderr).toContain('LOG_LEVEL="loud"');
      expect(stderr).toContain('DATABASE_URL: expected a postgres: or postgresql: URL');
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

describe('cpor simulate with a folder of policy versions', () => {
  it('without a named policy the claim follows the version in effect, as in the service', async () => {
    const { mkdtempSync: mk, writeFileSync: write } = await import('node:fs');
    const folder = mk(join(tmpdir(), 'cpor-versions-'));
    write(join(folder, 'cpor.yaml'), bundledPolicyText());
    write(
      join(folder, 'cpor-2026.2.yaml'),
      bundledPolicyText()
        .replace('version: "2026.1"', 'version: "2026.2"')
        .replace('effective: 2026-01-01T00:00:00Z', 'effective: 2026-03-01T00:00:00Z')
        .replace(/(partnerResponse:[\s\S]*?businessDays: )5/, '$110'),
    );
    const saved = process.env.CPOR_POLICY;
    process.env.CPOR_POLICY = folder;
    try {
      const { stdout } = await run('simulate', SCENARIO, '--json');
      const [result] = JSON.parse(stdout);
      expect(result.policy).toEqual({ id: 'cpor', version: '2026.2' });
      // Requested Thu Mar 5; 10 business days later is Thu Mar 19, falling due 00:00 PDT Mar 20.
      expect(result.deadlines).toContainEqual(expect.objectContaining({ name: 'partnerResponse', due: '2026-03-20T07:00:00.000Z' }));
    } finally {
      if (saved === undefined) delete process.env.CPOR_POLICY;
      else process.env.CPOR_POLICY = saved;
    }
  });
});

/** Runs the CLI with these environment variables set (undefined: unset), then restores them. */
async function runWithEnv(env: Record<string, string | undefined>, ...argv: string[]) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(env);
  try {
    return await run(...argv);
  } finally {
    apply(saved);
  }
}

// The other commands above and below read no database: they run once.
describe.each(SERVICE_DATABASES)('commands that read the database on $name', (db) => {
  useDatabase(db);
  it.each([
    ['backtest', '--policy', join(ROOT, 'policies', 'cpor.yaml')],
    ['audit', 'verify'],
  ])('cpor %s without a database says so, exits 1 and creates nothing', async (...argv) => {
    const parent = mkdtempSync(join(tmpdir(), 'cpor-nodb-'));
    const dataDir = join(parent, 'data');
    const { code, stderr } = await runWithEnv({ DATA_DIR: dataDir, DATABASE_URL: (await db.serviceEnv()).DATABASE_URL }, ...argv);
    expect(code).toBe(1);
    // PostgreSQL: an empty database (schema) the service never started on.
    expect(stderr).toContain(db.name === 'sqlite' ? `no database at ${join(dataDir, 'cpor.sqlite')}` : 'no CPOR database at DATABASE_URL (it has no claims table)');
    expect(stderr).toContain('start the service once');
    expect(stderr).not.toMatch(/SQLITE_|no such table|select /);
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('cpor audit verify --claim with an unknown claim says it does not exist, exit 1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cpor-audit-'));
    const { DATABASE_URL } = await db.serviceEnv();
    const knex = createDatabase({ dataDir, ...(DATABASE_URL ? { databaseUrl: DATABASE_URL } : {}) });
    await migrateLatest(knex);
    await knex.destroy();
    const { code, stdout, stderr } = await runWithEnv({ DATA_DIR: dataDir, DATABASE_URL }, 'audit', 'verify', '--claim', 'nope');
    expect(code).toBe(1);
    expect(stderr).toContain('claim nope does not exist');
    expect(stdout).not.toContain('every chain holds');
  });
});

describe('cpor token', () => {
  const env = () => ({ DATA_DIR: mkdtempSync(join(tmpdir(), 'cpor-token-')), JWT_SECRET: undefined, JWKS_URL: undefined, CPOR_POLICY: undefined });

  it.each([
    [['--role', 'wizard'], '"wizard" is not a role of the policy in effect'],
    [['--role', 'incentivesAdmin'], 'the partner role "incentivesAdmin" needs --partner ID'],
    [['--role', 'customer'], 'the customer role "customer" needs --tenant ID'],
  ])('refuses a token the service would refuse (%j), exit 2, prints no token', async (args, message) => {
    const { code, stdout, stderr } = await runWithEnv(env(), 'token', ...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stdout).toBe('');
  });

  it('mints tokens for roles of the policy in effect with the ids their kind needs', async () => {
    for (const args of [['--role', 'reviewer'], ['--role', 'incentivesAdmin', '--partner', '4512345'], ['--role', 'customer', '--tenant', 't-1']]) {
      const { code, stdout } = await runWithEnv(env(), 'token', ...args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
    }
  });
});
