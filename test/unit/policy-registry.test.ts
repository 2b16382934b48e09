import { createHash } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compilePolicy } from '../../src/policies/compiled-policy';
import { PolicyError } from '../../src/rules/load-policy';
import {
  createPolicyRegistry,
  staticPolicySource,
  type PolicyRegistry,
  type PolicyRegistryOptions,
} from '../../src/policies/policy-registry';
import { bundledPolicyData, policyYaml, positionOf, type PolicyOverrides } from '../support/policy-factory';

// Wraps the real compilePolicy so a test can count compilations.
vi.mock('../../src/policies/compiled-policy', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/policies/compiled-policy')>();
  return { ...original, compilePolicy: vi.fn(original.compilePolicy) };
});

const NOW = new Date('2026-06-01T12:00:00.000Z');
const clock = { now: () => NOW };

let dir: string;
const registries: PolicyRegistry[] = [];
let logs: Array<{ level: string; message: string; details?: object }>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpor-policies-'));
  logs = [];
  vi.mocked(compilePolicy).mockClear();
});

afterEach(async () => {
  for (const registry of registries.splice(0)) registry.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A policy variant: the bundled policy with a version, an effective instant (null: none) and overrides. */
function policy(version: string, effective: string | null, overrides: PolicyOverrides = {}): string {
  return policyYaml({ version, effective: effective ?? undefined, ...overrides });
}

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function open(options: Partial<PolicyRegistryOptions> = {}): Promise<PolicyRegistry> {
  const registry = await createPolicyRegistry({
    path: dir,
    clock,
    onLog: (level, message, details) => logs.push({ level, message, details }),
    ...options,
  });
  registries.push(registry);
  return registry;
}

const versionOf = (compiled: { policy: { id: string; version: string } }) => `${compiled.policy.id} ${compiled.policy.version}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('createPolicyRegistry: loading', () => {
  it('loads every policy file of a directory and lists its versions with file, digest and load time', async () => {
    const first = policy('2026.1', '2026-01-01T00:00:00Z');
    const second = policy('2026.2', '2026-07-01T00:00:00-07:00');
    await write('cpor-2026.1.yaml', first);
    await write('cpor-2026.2.yml', second);
    await write('notes.txt', 'not a policy');

    const registry = await open();

    expect(registry.list()).toEqual([
      {
        id: 'cpor',
        version: '2026.1',
        effective: '2026-01-01T00:00:00.000Z',
        file: join(dir, 'cpor-2026.1.yaml'),
        digest: sha256(first),
        loadedAt: NOW.toISOString(),
        active: true,
      },
      {
        id: 'cpor',
        version: '2026.2',
        effective: '2026-07-01T07:00:00.000Z',
        file: join(dir, 'cpor-2026.2.yml'),
        digest: sha256(second),
        loadedAt: NOW.toISOString(),
        active: true,
      },
    ]);
    expect(registry.status()).toEqual({ ok: true, versions: registry.list(), broken: [], lastReloadAt: NOW.toISOString() });
  });

  it('loads a single policy file given as the path', async () => {
    const file = await write('cpor.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));
    await write('other.yaml', 'not: [a, policy]');

    const registry = await open({ path: file });

    expect(registry.list().map((v) => v.file)).toEqual([file]);
    expect(registry.status().ok).toBe(true);
  });

  it('lists a file that is not a policy under broken and serves the valid ones', async () => {
    await write('cpor.yaml', policy('2026.1', null));
    const scenario = await write('scenario.yaml', 'name: A scenario\nsteps: []\n');

    const registry = await open();

    expect(versionOf(registry.current(NOW))).toBe('cpor 2026.1');
    const status = registry.status();
    expect(status.ok).toBe(false);
    expect(status.broken.map((b) => b.file)).toEqual([scenario]);
    expect(status.broken[0]!.errors.length).toBeGreaterThan(0);
    for (const line of status.broken[0]!.errors) expect(line).toMatch(new RegExp(`^${scenario}:\\d+:\\d+ error `));
    expect(logs.some((l) => l.level === 'error' && l.message.includes(scenario))).toBe(true);
  });

  it('refuses to start when no file is a valid policy, with the located errors', async () => {
    const file = await write('cpor.yaml', 'id: [unclosed\n');

    const started = open();

    await expect(started).rejects.toBeInstanceOf(PolicyError);
    await expect(started).rejects.toThrow(new RegExp(`No valid policy in ${dir}:\\n${file}:\\d+:\\d+ error yamlSyntax`));
  });

  it('refuses to start on an empty directory', async () => {
    await expect(open()).rejects.toThrow(/No policy files \(\*\.yaml, \*\.yml\) in this directory/);
  });

  it('refuses a second file with the same id and version but other content, located at its version', async () => {
    await write('a.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));
    const text = policy('2026.1', '2026-01-01T00:00:00Z', { name: 'Something else' });
    const later = await write('b.yaml', text);

    const registry = await open();

    const { line, column } = positionOf(text, 'version:');
    expect(registry.status().broken).toEqual([
      {
        file: later,
        errors: [
          `${later}:${line}:${column} error duplicateVersion $.version: Duplicate version cpor 2026.1 in ${join(dir, 'a.yaml')} and ${later} with different content: give this file a new version.`,
        ],
      },
    ]);
    expect(registry.current(NOW).policy.name).toBe(bundledPolicyData().name);
  });

  it('keeps serving the file that holds a version when a copy with other content is dropped in, even one whose name sorts first', async () => {
    const original = await write('cpor.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));
    const registry = await open();
    const text = policy('2026.1', '2026-01-01T00:00:00Z', { name: 'Copied and edited' });
    const copy = await write('a-copy.yaml', text);

    await registry.reload();

    expect(registry.current(NOW).policy.name).toBe(bundledPolicyData().name);
    const { line, column } = positionOf(text, 'version:');
    expect(registry.status().broken).toEqual([
      {
        file: copy,
        errors: [
          `${copy}:${line}:${column} error duplicateVersion $.version: Duplicate version cpor 2026.1 in ${original} and ${copy} with different content: give this file a new version.`,
        ],
      },
    ]);
  });

  it('accepts the same version in two files when their content is the same', async () => {
    await write('a.yaml', policy('2026.1', null));
    await write('b.yaml', policy('2026.1', null));

    const registry = await open();

    expect(registry.status().broken).toEqual([]);
    expect(registry.list()).toHaveLength(1);
  });

  it('compiles each distinct content once, across files and reloads', async () => {
    await write('a.yaml', policy('2026.1', null));
    await write('b.yaml', policy('2026.1', null));
    await write('c.yaml', policy('2026.2', '2026-03-01T00:00:00Z'));

    const registry = await open();
    const compiled = registry.get({ id: 'cpor', version: '2026.1' });
    await registry.reload();
    await registry.reload();

    expect(vi.mocked(compilePolicy)).toHaveBeenCalledTimes(2);
    expect(registry.get({ id: 'cpor', version: '2026.1' })).toBe(compiled);
  });
});

describe('createPolicyRegistry: the version in effect', () => {
  it('serves the version with the latest effective instant at or before the given one', async () => {
    await write('1.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));
    await write('2.yaml', policy('2026.2', '2026-07-01T00:00:00Z'));
    await write('3.yaml', policy('2027.1', '2027-01-01T00:00:00Z'));

    const registry = await open();

    expect(versionOf(registry.current(new Date('2026-01-01T00:00:00Z')))).toBe('cpor 2026.1');
    expect(versionOf(registry.current(new Date('2026-06-30T23:59:59.999Z')))).toBe('cpor 2026.1');
    expect(versionOf(registry.current(new Date('2026-07-01T00:00:00Z')))).toBe('cpor 2026.2');
    expect(versionOf(registry.current(new Date('2030-01-01T00:00:00Z')))).toBe('cpor 2027.1');
  });

  it('throws policyNotInEffect before the earliest version takes effect', async () => {
    await write('1.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));

    const registry = await open();

    expect(() => registry.current(new Date('2025-12-31T23:59:59Z'))).toThrow(
      expect.objectContaining({ code: 'policyNotInEffect', kind: 'notFound' }),
    );
  });

  it('counts a version without effective as in effect since forever, and any dated one as later', async () => {
    await write('base.yaml', policy('base', null));
    await write('next.yaml', policy('next', '2026-03-01T00:00:00Z'));

    const registry = await open();

    expect(versionOf(registry.current(new Date('1990-01-01T00:00:00Z')))).toBe('cpor base');
    expect(versionOf(registry.current(new Date('2026-03-01T00:00:00Z')))).toBe('cpor next');
  });

  it('serves cpor by default when several programs are loaded, and another program on request', async () => {
    await write('a-other.yaml', policy('1', null, { id: 'other' }));
    await write('b-cpor.yaml', policy('2026.1', null));

    const registry = await open();

    expect(versionOf(registry.current(NOW))).toBe('cpor 2026.1');
    expect(versionOf(registry.current(NOW, 'other'))).toBe('other 1');
  });

  it('serves the first valid file’s program by default when none is cpor, or the one named', async () => {
    await write('a.yaml', policy('1', null, { id: 'alpha' }));
    await write('b.yaml', policy('1', null, { id: 'beta' }));

    expect(versionOf((await open()).current(NOW))).toBe('alpha 1');
    expect(versionOf((await open({ programId: 'beta' })).current(NOW))).toBe('beta 1');
    await expect(open({ programId: 'gamma' })).rejects.toThrow(/No valid policy file has id "gamma"; loaded: alpha, beta/);
  });
});

describe('createPolicyRegistry: reloading', () => {
  it('keeps serving the previous version when a file breaks, and names the file and position in status', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    const registry = await open();
    const serving = registry.current(NOW);
    const broken = vi.fn();
    registry.on('broken', broken);

    const text = policy('2026.2', null, { deadlines: { reviewStart: { runsIn: ['nowhere'] } } });
    await writeFile(file, text);
    const result = await registry.reload();

    expect(result).toEqual({ added: [], removed: [], broken: [file] });
    expect(registry.current(NOW)).toBe(serving);
    const { line, column } = positionOf(text, 'nowhere');
    const status = registry.status();
    expect(status.ok).toBe(false);
    expect(status.versions.map((v) => v.version)).toEqual(['2026.1']);
    expect(status.broken).toHaveLength(1);
    expect(status.broken[0]!.file).toBe(file);
    expect(status.broken[0]!.errors[0]).toMatch(`${file}:${line}:${column} error unknownState $.deadlines.reviewStart.runsIn[0]`);
    expect(logs.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({ message: expect.stringContaining('still serving cpor 2026.1'), details: { file, errors: status.broken[0]!.errors } }),
    ]);
    expect(broken).toHaveBeenCalledWith(status.broken[0]);
  });

  it('reports a broken file once, and clears it when it is fixed', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    const registry = await open();
    await writeFile(file, 'id: [');

    expect((await registry.reload()).broken).toEqual([file]);
    expect((await registry.reload()).broken).toEqual([]);
    await writeFile(file, policy('2026.1', null));
    await registry.reload();

    expect(registry.status()).toMatchObject({ ok: true, broken: [] });
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('puts a changed file’s new version in service and keeps the old one for claims pinned to it', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    const registry = await open();
    const old = registry.current(NOW);
    const reloaded = vi.fn();
    registry.on('reloaded', reloaded);

    await writeFile(file, policy('2026.2', null));
    const result = await registry.reload();

    expect(result.added.map((v) => v.version)).toEqual(['2026.2']);
    expect(result.removed.map((v) => v.version)).toEqual(['2026.1']);
    expect(reloaded).toHaveBeenCalledWith(result);
    expect(versionOf(registry.current(NOW))).toBe('cpor 2026.2');
    expect(registry.get({ id: 'cpor', version: '2026.1' })).toBe(old);
    expect(registry.list().map((v) => [v.version, v.active])).toEqual([
      ['2026.1', false],
      ['2026.2', true],
    ]);
  });

  it('keeps a deleted file’s version for get, and stops serving it', async () => {
    await write('1.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));
    const later = await write('2.yaml', policy('2026.2', '2026-03-01T00:00:00Z'));
    const registry = await open();
    const pinned = registry.get({ id: 'cpor', version: '2026.2' });

    await unlink(later);
    const result = await registry.reload();

    expect(result.removed.map((v) => v.version)).toEqual(['2026.2']);
    expect(versionOf(registry.current(NOW))).toBe('cpor 2026.1');
    expect(registry.get({ id: 'cpor', version: '2026.2' })).toBe(pinned);
    expect(registry.status().versions.map((v) => v.version)).toEqual(['2026.1']);
  });

  it('keeps serving a single policy file’s last good version when the file disappears, listing it as broken', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    const registry = await open({ path: file });
    const serving = registry.current(NOW);

    await unlink(file);
    const result = await registry.reload();

    expect(result.broken).toEqual([file]);
    expect(registry.current(NOW)).toBe(serving);
    expect(registry.status().broken).toEqual([{ file, errors: [`${file}:1:1 error fileNotFound $: No such policy file.`] }]);
  });

  it('refuses a file added later with an existing version and other content', async () => {
    await write('a.yaml', policy('2026.1', null));
    const registry = await open();
    const serving = registry.current(NOW);

    const later = await write('b.yaml', policy('2026.1', null, { name: 'Changed' }));
    const result = await registry.reload();

    expect(result.broken).toEqual([later]);
    expect(registry.status().broken[0]!.errors[0]).toMatch(/duplicateVersion .*Duplicate version cpor 2026\.1 in .*a\.yaml and .*b\.yaml/);
    expect(registry.current(NOW)).toBe(serving);
  });
});

describe('createPolicyRegistry: watching', () => {
  it('picks up a valid change without a reload call', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    const registry = await open();
    registry.watch();

    await writeFile(file, policy('2026.2', null));

    await vi.waitFor(() => expect(versionOf(registry.current(NOW))).toBe('cpor 2026.2'), { timeout: 5_000, interval: 50 });
  });

  it('keeps serving the previous version when a broken file is dropped in while watching', async () => {
    await write('cpor.yaml', policy('2026.1', null));
    const registry = await open();
    const serving = registry.current(NOW);
    registry.watch();

    const dropped = await write('cpor-2026.2.yaml', policy('2026.2', '2026-02-01T00:00:00Z', { calendar: { timeZone: 'Mars/Olympus' } }));

    await vi.waitFor(() => expect(registry.status().broken.map((b) => b.file)).toEqual([dropped]), { timeout: 5_000, interval: 50 });
    expect(registry.current(NOW)).toBe(serving);
  });

  it('falls back to polling when file-system events do not arrive', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    // Events would reload only after an hour: what changes it here is the poll.
    const registry = await open({ debounceMs: 3_600_000, pollIntervalMs: 100 });
    registry.watch();

    await writeFile(file, policy('2026.2', null));

    await vi.waitFor(() => expect(versionOf(registry.current(NOW))).toBe('cpor 2026.2'), { timeout: 5_000, interval: 50 });
  });

  it('stops reloading after stop()', async () => {
    const file = await write('cpor.yaml', policy('2026.1', null));
    const registry = await open({ pollIntervalMs: 50, debounceMs: 10 });
    registry.watch();
    registry.stop();

    await writeFile(file, policy('2026.2', null));
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(versionOf(registry.current(NOW))).toBe('cpor 2026.1');
  });
});

describe('staticPolicySource', () => {
  it('serves its one policy at every instant and by its id and version', async () => {
    await write('cpor.yaml', policy('2026.1', '2026-01-01T00:00:00Z'));
    const compiled = compilePolicy((await open()).current(NOW).policy);
    const source = staticPolicySource(compiled, { file: 'policies/cpor.yaml' });

    expect(source.current(new Date('2000-01-01T00:00:00Z'))).toBe(compiled);
    expect(source.get({ id: 'cpor', version: '2026.1' })).toBe(compiled);
    expect(source.get({ id: 'cpor', version: '2026.2' })).toBeUndefined();
    expect(source.list()).toEqual([
      expect.objectContaining({ id: 'cpor', version: '2026.1', effective: '2026-01-01T00:00:00.000Z', file: 'policies/cpor.yaml', active: true }),
    ]);
  });
});
