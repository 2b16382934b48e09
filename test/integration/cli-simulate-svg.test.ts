import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCENARIO = join(ROOT, 'scenarios', 'timeline-decision-target-paused.yaml');

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('cpor simulate --svg', () => {
  it('writes the run as an SVG timeline beside the readable timeline, the same bytes each time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpor-svg-'));
    const first = await run('simulate', SCENARIO, '--svg', join(dir, 'a.svg'));
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('  PASS');
    expect(first.stderr).toBe(`cpor simulate: wrote ${join(dir, 'a.svg')}\n`);
    await run('simulate', SCENARIO, '--svg', join(dir, 'b.svg'));
    const svg = readFileSync(join(dir, 'a.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(readFileSync(join(dir, 'b.svg'), 'utf8')).toBe(svg);
  });

  it('draws one scenario: two files with --svg are a usage error (exit 2)', async () => {
    const { code, stderr } = await run('simulate', SCENARIO, SCENARIO, '--svg', join(tmpdir(), 'never.svg'));
    expect(code).toBe(2);
    expect(stderr).toContain('--svg draws one scenario: name one file');
  });

  it('says why when the picture cannot be written (exit 1), and never throws', async () => {
    const { code, stderr } = await run('simulate', SCENARIO, '--svg', join(ROOT, 'no-such-folder', 'x.svg'));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^cpor simulate: cannot write .*x\.svg: ENOENT$/m);
  });

  it('the README picture is what the command draws for the bundled scenario', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpor-svg-'));
    await run('simulate', 'scenarios/timeline-decision-target-paused.yaml', '--svg', join(dir, 'x.svg'));
    expect(readFileSync(join(dir, 'x.svg'), 'utf8')).toBe(readFileSync(join(ROOT, 'docs', 'images', 'timeline-decision-target-paused.svg'), 'utf8'));
  });
});
