/**
 * Start-up of the service: from spawning `npm start` (and the `node bin/cpor.mjs serve` it
 * execs) to the first 200 from GET /healthz and GET /readyz, on a fresh SQLite data folder each run, beside
 * `node -e 0`. Wall time per run; for the direct node process also its CPU time (user +
 * system from /proc when it answered), which a loaded machine disturbs less.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StartupSample {
  wallMs: number;
  /** CPU of the process that answered (only when it is the spawned process itself). */
  cpuMs?: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function cpuMsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // After "pid (comm) ": state is field 0; utime and stime are fields 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** Spawns `command args` in `root` with a fresh data folder and PORT=0; resolves when /healthz and then /readyz answer 200. */
export async function timeServeStartup(root: string, command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<StartupSample> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpor-bench-start-'));
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"[^\n]*cpor service listening/.exec(buffered);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code} before listening`)));
    });
    // Ready: /healthz and /readyz (database reachable, a policy in effect) both answer 200.
    for (const path of ['/healthz', '/readyz']) {
      for (;;) {
        const answer = await fetch(`${url}${path}`).catch(() => undefined);
        await answer?.arrayBuffer();
        if (answer?.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    const wallMs = performance.now() - started;
    const cpuMs = command === process.execPath ? cpuMsOf(child.pid!) : undefined;
    return cpuMs === undefined ? { wallMs } : { wallMs, cpuMs };
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Wall ms of `node -e 0`, and its CPU ms (user + system as the process saw them when exiting). */
export function timeNodeNothing(root: string): StartupSample {
  const started = performance.now();
  const { stdout } = spawnSync(process.execPath, ['-e', "process.on('exit', () => { const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000)); })"], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const wallMs = performance.now() - started;
  const cpuMs = Number(stdout.toString());
  return Number.isFinite(cpuMs) && stdout.length > 0 ? { wallMs, cpuMs } : { wallMs };
}

/**
 * What `npm start` costs before any of a package's own code runs: a scratch package whose start
 * script execs `node -e 0`, timed to its exit (npm's own start, the shell, node's bootstrap). What is
 * left of a start-up goal after it is all the service itself may take.
 */
export function createNpmFloor(): { time(): number; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-bench-npm-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npm-floor', version: '1.0.0', private: true, scripts: { start: 'exec node -e 0' } }));
  return {
    time() {
      const started = performance.now();
      const { status } = spawnSync('npm', ['start', '--silent'], { cwd: dir, stdio: 'ignore' });
      if (status !== 0) throw new Error(`npm start of an empty package exited with ${status}`);
      return performance.now() - started;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
