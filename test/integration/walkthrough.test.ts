import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'examples', 'walkthrough.mjs');

function runScript(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => r({ code, stdout, stderr }));
  });
}

describe("the README's HTTP walk-through (examples/walkthrough.mjs)", () => {
  it('runs end to end against a freshly started service: every role, every action, exit 0', async () => {
    const { code, stdout, stderr } = await runScript([]);
    expect(stderr.slice(-2_000)).not.toContain('FAILED');
    expect(code).toBe(0);
    // The README's curl examples are commands the script printed: they cannot drift from what it runs.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**Walk-through**'), readme.indexOf('| route | what |'));
    const examples = [...section.matchAll(/^(curl .*?|[A-Z]=\$\(npx cpor token .*?\))(?:\s+# .*)?$/gm)].map((m) => m[1]!);
    expect(examples.length).toBeGreaterThanOrEqual(10);
    const printed = stdout.split('\n').map((line) => line.trim());
    for (const example of examples) expect(printed, example).toContain(example);
    for (const step of ['customer denies consent', 'consent window passes', 'partner disputes', 'resolves the dispute', 'partner withdraws']) {
      expect(stdout).toContain(step);
    }
    expect(stdout).toContain('every answer as expected');
  }, 90_000);

  it('exits 1 naming the step on an unexpected answer', async () => {
    // A "service" that answers 200 to everything: creating a claim must answer 201.
    const impostor = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(impostor.address() as { port: number }).port}`;
      const env = { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'cpor-walk-')) };
      const { code, stderr } = await runScript(['--url', url, '--quiet'], env);
      expect(code).toBe(1);
      expect(stderr).toContain('partner (incentivesAdmin) creates claim A: expected 201, got 200');
    } finally {
      impostor.closeAllConnections();
      impostor.close();
    }
  }, 60_000);
});
