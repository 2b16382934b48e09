import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { startService, type RunningService } from '../../src/server';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SECRET = 'serve-process-test-secret-of-at-least-32-bytes';

const children: ChildProcess[] = [];
const pids: number[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const server of servers.splice(0)) server.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function env(extra: Record<string, string>) {
  const base: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'cpor-serve-')), JWT_SECRET: SECRET, LOG_LEVEL: 'info', ...extra };
  delete base.DATABASE_URL;
  delete base.CPOR_POLICY;
  return base;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((r) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), r(true)));
    socket.once('error', () => r(false));
  });

/** Spawns a command, resolves the service's URL and pid from its "listening" log line. */
async function startListening(command: string, args: string[], extra: Record<string, string>) {
  const child = spawn(command, args, { cwd: ROOT, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = await new Promise<{ url: string; pid: number }>((resolveStart, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.includes('cpor service listening'));
      if (line) {
        const entry = JSON.parse(line) as { url: string; pid: number };
        resolveStart({ url: entry.url, pid: entry.pid });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${output}`)));
  });
  pids.push(started.pid);
  expect((await fetch(`${started.url}/healthz`)).status).toBe(200);
  return { child, ...started, port: Number(new URL(started.url).port) };
}

describe('cpor serve as a process', () => {
  it('a port in use: exit 1 with a message naming the port and host, nothing left running', async () => {
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cpor.mjs'), 'serve'], {
      cwd: ROOT,
      env: env({ PORT: String(port), HOST: '127.0.0.1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await Promise.race([exited(child), new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code).toBe(1);
    expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(stdout).not.toContain('listening');
  }, 30_000);

  it('SIGTERM to the process of `npm start` stops the service: port closed, no process left', async () => {
    const { child, pid, port } = await startListening('npm', ['start', '--silent'], { PORT: '0' });
    expect(pid).not.toBe(child.pid);
    child.kill('SIGTERM');
    await exited(child);
    await until(() => !alive(pid), 15_000, `service process ${pid} to end`);
    expect(await portOpen(port)).toBe(false);
  }, 60_000);

  it('a service started by npm stops when npm is killed outright (no orphan left listening)', async () => {
    const { child, pid, port } = await startListening('npm', ['start', '--silent'], { PORT: '0' });
    child.kill('SIGKILL');
    await exited(child);
    await until(() => !alive(pid), 15_000, `service process ${pid} to end`);
    expect(await portOpen(port)).toBe(false);
  }, 60_000);
});

describe('request timeouts', () => {
  const services: RunningService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  async function serviceWith(extra: Record<string, string>) {
    const config = loadConfig(
      { DATA_DIR: mkdtempSync(join(tmpdir(), 'cpor-timeouts-')), PORT: '0', JWT_SECRET: SECRET, SHUTDOWN_TIMEOUT_MS: '500', ...extra },
      { policyPath: join(ROOT, 'policies') },
    );
    const service = await startService(config, { logger: pino({ level: 'silent' }), startScheduler: false });
    services.push(service);
    return Number(new URL(service.url).port);
  }

  /** Writes `text` and never more; resolves with what the server answered and when it closed the connection. */
  function stall(port: number, text: string) {
    return new Promise<{ answer: string; closedAfterMs: number }>((r) => {
      const started = Date.now();
      let answer = '';
      const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write(text));
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => r({ answer, closedAfterMs: Date.now() - started }));
    });
  }

  it('headers that never finish are answered 408 and the connection closed after HEADERS_TIMEOUT_MS', async () => {
    const port = await serviceWith({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '60000' });
    const { answer, closedAfterMs } = await stall(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(5_000);
  }, 20_000);

  it('a body that trickles in past REQUEST_TIMEOUT_MS is cut off', async () => {
    const port = await serviceWith({ HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
    const { closedAfterMs } = await stall(port, 'POST /v1/simulate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"na');
    expect(closedAfterMs).toBeGreaterThanOrEqual(1_900);
    expect(closedAfterMs).toBeLessThan(6_000);
  }, 20_000);

  it('an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const port = await serviceWith({ KEEP_ALIVE_TIMEOUT_MS: '300' });
    const { answer, closedAfterMs } = await stall(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(closedAfterMs).toBeLessThan(3_000);
  }, 20_000);

  it('a headers timeout longer than the request timeout stops the start with a message', () => {
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '90000', REQUEST_TIMEOUT_MS: '60000' }, { policyPath: 'policies' })).toThrow(ConfigError);
    expect(() => loadConfig({ HEADERS_TIMEOUT_MS: '90000', REQUEST_TIMEOUT_MS: '60000' }, { policyPath: 'policies' })).toThrow(/HEADERS_TIMEOUT_MS=90000: must not exceed REQUEST_TIMEOUT_MS/);
  });
});
