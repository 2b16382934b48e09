/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory,
 * `pg_ctl start` on a free port (TCP on 127.0.0.1, unix socket in the same
 * directory), trust authentication, fsync off. Run as root, the binaries run as the
 * `postgres` OS user (initdb refuses root). Missing binaries are an error, never a skip.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  /** URL of the database created at start. */
  url: string;
  /** URL of the cluster's `postgres` database (for administration). */
  adminUrl: string;
  /** Creates another empty database in the cluster; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Creates an empty schema in the database at `url`; returns a URL whose connections
   * use it (search_path). Much cheaper than a database (~1 ms against ~250 ms).
   */
  createSchema(name: string): Promise<string>;
  /**
   * Restarts the cluster as a crash would: `pg_ctl restart -m immediate` (no checkpoint,
   * every connection dropped, crash recovery at start). Resolves once it accepts connections
   * again, on the same port and with the same settings.
   */
  restartImmediate(): Promise<void>;
  /** Stops the cluster and deletes its directory. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Name of the database created at start (default `cpor_test`). */
  database?: string;
  /**
   * Keep every acknowledged commit across `restartImmediate` (synchronous_commit on; fsync
   * stays off: only the server crashes, never the OS). Default off: faster, but a crash may
   * lose the last commits.
   */
  crashSafe?: boolean;
}

const SUPERUSER = 'postgres';

/** Starts a cluster; resolves once it accepts connections and the database exists. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  const runner = commandRunner();
  // Short base path: the socket path (dir + "/.s.PGSQL.<port>") must stay under 107 bytes.
  const dir = mkdtempSync(join(existsSync('/tmp') ? '/tmp' : tmpdir(), 'cpor-pg-'));
  if (runner.uid !== undefined) chownSync(dir, runner.uid, runner.gid!);
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  let running = false;

  const stopNow = () => {
    if (running) {
      running = false;
      spawnSync(...runner.argv(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A test run that dies without afterAll must not leave a postmaster behind.
  process.once('exit', stopNow);

  try {
    await run(runner, join(bin, 'initdb'), [
      '-D', data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync',
    ]);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const settings = [
        `-p ${port}`,
        `-k ${dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        ...(options.crashSafe ? [] : ['-c synchronous_commit=off']),
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        await run(runner, join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', '-o', settings, 'start']);
        running = true;
        break;
      } catch (error) {
        // Another process may have taken the port between our probe and the start.
        if (attempt >= 3) throw new Error(`${(error as Error).message}\n--- postgres.log ---\n${readLog(log)}`, { cause: error });
      }
    }
    const urlOf = (database: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
    const adminUrl = urlOf('postgres');
    const createDatabase = async (name: string) => {
      await execute(adminUrl, `CREATE DATABASE ${plainName(name)}`);
      return urlOf(name);
    };
    const url = await createDatabase(options.database ?? 'cpor_test');
    return {
      url,
      adminUrl,
      createDatabase,
      async createSchema(name) {
        await execute(url, `CREATE SCHEMA ${plainName(name)}`);
        return `${url}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
      },
      async restartImmediate() {
        if (!running) throw new Error('the cluster is not running');
        // pg_ctl restart reuses the options of the last start (postmaster.opts).
        await run(runner, join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-m', 'immediate', '-w', '-t', '60', 'restart']);
      },
      async stop() {
        process.removeListener('exit', stopNow);
        if (running) {
          running = false;
          await run(runner, join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    process.removeListener('exit', stopNow);
    stopNow();
    throw error;
  }
}

function plainName(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}

async function execute(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Directory holding initdb and pg_ctl: $PG_BIN, then PATH, then Debian's and other usual places. */
function findPostgresBin(): string {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  const chosen = process.env.PG_BIN;
  if (chosen) {
    if (!has(chosen)) throw new Error(`PG_BIN=${chosen} does not hold PostgreSQL's initdb and pg_ctl.`);
    return chosen;
  }
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    ...debianBins(),
    '/usr/local/pgsql/bin',
    '/opt/homebrew/bin',
  ];
  const found = candidates.find(has);
  if (!found) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH, in $PG_BIN or in /usr/lib/postgresql/*/bin. ' +
        'The store tests run against a real PostgreSQL 15: install it (Debian/Ubuntu: apt-get install postgresql-15) ' +
        'or set PG_BIN to the directory holding initdb and pg_ctl.',
    );
  }
  return found;
}

function debianBins(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

interface CommandRunner {
  /** Owner the cluster directory is given to, when the binaries run as another user. */
  uid?: number;
  gid?: number;
  argv(command: string, args: string[]): [string, string[]];
}

/** How to run the binaries: directly, or (as root) as the `postgres` OS user. */
function commandRunner(): CommandRunner {
  if (process.getuid?.() !== 0) return { argv: (command, args) => [command, args] };
  const id = (flag: string) => spawnSync('id', [flag, SUPERUSER], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      'The tests run as root and initdb refuses to: they run PostgreSQL as the `postgres` OS user, which does not exist here. ' +
        'Create it (useradd --system postgres) or run the tests as an unprivileged user.',
    );
  }
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find(existsSync);
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return {
    uid: Number(uid.stdout.trim()),
    gid: Number(gid.stdout.trim()),
    argv: runuser
      ? (command, args) => [runuser, ['-u', SUPERUSER, '--', command, ...args]]
      : (command, args) => ['su', [SUPERUSER, '-s', '/bin/sh', '-c', [command, ...args].map(quote).join(' ')]],
  };
}

function run(runner: CommandRunner, command: string, args: string[]): Promise<void> {
  const [file, argv] = runner.argv(command, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[file, ...argv].join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}
