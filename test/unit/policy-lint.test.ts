import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lintPolicies, type PolicyLintReport } from '../../src/cli/policy-lint';
import { BUNDLED_POLICY_PATH, bundledPolicyText, policyYaml, positionOf } from '../support/policy-factory';

/** Collects what lintPolicies writes, as lines (each write must end with a newline). */
function capture() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = (into: string[]) => (text: string) => {
    expect(text.endsWith('\n')).toBe(true);
    into.push(...text.slice(0, -1).split('\n'));
  };
  return { out: { stdout: lines(stdout), stderr: lines(stderr) }, stdout, stderr };
}

let dir: string;
let good: string;
let broken: string;
let warned: string;
/** Where the broken file's unknown state is (line:column). */
let unknownStateAt: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-lint-'));
  good = join(dir, 'a-good.yaml');
  broken = join(dir, 'b-broken.yml');
  warned = join(dir, 'c-warned.yaml');
  await writeFile(good, bundledPolicyText());
  const brokenText = bundledPolicyText()
    .replace('timeZone: America/Los_Angeles', 'timeZone: Mars/Olympus_Mons')
    .replace('runsIn: [disputed]', 'runsIn: [dispute]');
  await writeFile(broken, brokenText);
  const at = positionOf(brokenText, 'runsIn: [^dispute]');
  unknownStateAt = `${at.line}:${at.column}`;
  await writeFile(warned, policyYaml({ version: '2026.2', roles: { auditor: { kind: 'reviewer' } } }));
  await writeFile(join(dir, 'notes.txt'), 'not a policy');
});

describe('lintPolicies', () => {
  it('exits 0 and prints one ok line for the bundled policy', async () => {
    const { out, stdout, stderr } = capture();
    expect(await lintPolicies([BUNDLED_POLICY_PATH], out)).toBe(0);
    expect(stdout).toEqual([`${BUNDLED_POLICY_PATH}: ok (policy cpor 2026.1)`]);
    expect(stderr).toEqual([]);
  });

  it('exits 1 and prints a located line per error and an error count', async () => {
    const { out, stdout } = capture();
    expect(await lintPolicies([broken], out)).toBe(1);
    expect(stdout).toEqual([
      `${broken}:13:13 error unknownTimeZone $.calendar.timeZone: Unknown time zone "Mars/Olympus_Mons": use an IANA name such as UTC, America/Los_Angeles or Europe/Berlin.`,
      expect.stringMatching(new RegExp(`^${escape(broken)}:${unknownStateAt} error unknownState \\$\\.deadlines\\.disputeResponse\\.runsIn\\[0\\]: Unknown state "dispute"`)),
      `${broken}: 2 errors`,
    ]);
  });

  it('exits 0 when a file has only warnings, and counts them in the summary', async () => {
    const { out, stdout } = capture();
    expect(await lintPolicies([warned], out)).toBe(0);
    expect(stdout).toHaveLength(2);
    expect(stdout[0]).toMatch(/ warning unusedRole \$\.roles\.auditor: /);
    expect(stdout[1]).toBe(`${warned}: ok (policy cpor 2026.2), 1 warning`);
  });

  it('lints every *.yaml and *.yml file of a directory, in name order, and exits 1 if one has an error', async () => {
    const { out, stdout } = capture();
    expect(await lintPolicies([dir], out)).toBe(1);
    const summaries = stdout.filter((line) => /: (ok|\d+ errors?)/.test(line) && !/ (error|warning) \w+ \$/.test(line));
    expect(summaries).toEqual([
      `${good}: ok (policy cpor 2026.1)`,
      `${broken}: 2 errors`,
      `${warned}: ok (policy cpor 2026.2), 1 warning`,
    ]);
  });

  it('refuses a later file (name order) with the same id and version but other content, located at its version; identical copies pass', async () => {
    const copies = await mkdtemp(join(tmpdir(), 'policy-lint-copies-'));
    const original = join(copies, 'a-cpor.yaml');
    const copy = join(copies, 'b-copy.yaml');
    const same = join(copies, 'c-same.yaml');
    await writeFile(original, bundledPolicyText());
    const copyText = policyYaml({ name: 'Edited copy' });
    await writeFile(copy, copyText);
    await writeFile(same, bundledPolicyText());
    const { out, stdout } = capture();

    expect(await lintPolicies([copies], out)).toBe(1);

    const at = positionOf(copyText, 'version:');
    expect(stdout).toContain(
      `${copy}:${at.line}:${at.column} error duplicateVersion $.version: Duplicate version cpor 2026.1 in ${original} and ${copy} with different content: give this file a new version.`,
    );
    expect(stdout).toContain(`${original}: ok (policy cpor 2026.1)`);
    expect(stdout).toContain(`${same}: ok (policy cpor 2026.1)`);
  });

  it('reports a missing file as an error line, not a crash', async () => {
    const missing = join(dir, 'missing.yaml');
    const { out, stdout } = capture();
    expect(await lintPolicies([missing], out)).toBe(1);
    expect(stdout).toEqual([`${missing}:1:1 error fileNotFound $: No such policy file.`, `${missing}: 1 error`]);
  });

  it('exits 1 with a message on stderr for a directory with no policy files', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const { out, stdout, stderr } = capture();
    expect(await lintPolicies([empty], out)).toBe(1);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([`${empty}: no policy files (*.yaml, *.yml) in this directory.`]);
  });

  it('exits 1 when given no paths', async () => {
    const { out, stderr } = capture();
    expect(await lintPolicies([], out)).toBe(1);
    expect(stderr).toHaveLength(1);
  });

  it('prints a JSON array with the policy id and version, errors and warnings', async () => {
    const { out, stdout } = capture();
    expect(await lintPolicies([good, broken, warned], out, { json: true })).toBe(1);
    const reports = JSON.parse(stdout.join('\n')) as PolicyLintReport[];
    expect(reports).toMatchObject([
      { file: good, ok: true, policy: { id: 'cpor', version: '2026.1' }, errors: [], warnings: [] },
      {
        file: broken,
        ok: false,
        errors: [
          { code: 'unknownTimeZone', line: 13, column: 13, path: '$.calendar.timeZone', severity: 'error' },
          { code: 'unknownState', line: Number(unknownStateAt.split(':')[0]), column: 14, path: '$.deadlines.disputeResponse.runsIn[0]', severity: 'error' },
        ],
        warnings: [],
      },
      { file: warned, ok: true, errors: [], warnings: [{ code: 'unusedRole', severity: 'warning' }] },
    ]);
    expect(reports[1]).not.toHaveProperty('policy');
  });

  it('exits 0 in JSON mode when every file is ok', async () => {
    const { out, stdout } = capture();
    expect(await lintPolicies([good], out, { json: true })).toBe(0);
    expect(JSON.parse(stdout.join('\n'))).toHaveLength(1);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
