/**
 * Policy versions from a policy file or a directory of them: the version in effect
 * at an instant, every version seen since start (claims stay pinned to theirs), and
 * hot reload that validates first and keeps serving the last good version of a file
 * that breaks.
 */
import type { PolicySource as ClaimPolicySource } from './policy-source';
import { createHash } from 'node:crypto';
import { watch as watchDirectory, type FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { compilePolicy, type CompiledPolicy } from './compiled-policy';
import { NotFoundError } from '../domain/errors';
import { PolicyError, duplicateIssue, formatIssue, parsePolicyAheadOfTime, type PolicyIssue, type PolicyLoadResult } from '../rules/load-policy';
import type { Policy } from '../rules/policy-types';

export interface PolicyVersion {
  id: string;
  version: string;
  /** ISO-8601 UTC instant from which it is in effect; null: in effect since forever. */
  effective: string | null;
  file: string;
  /** sha256 (hex) of the file text. */
  digest: string;
  loadedAt: string;
  /** A policy file still provides it; false: kept only for claims pinned to it. */
  active: boolean;
  /** A candidate run in shadow (`shadow: true`): never in effect, evaluated beside the live version. */
  shadow?: true;
}

/** The claim service's policy source, plus the list of versions (GET /v1/policies). */
export interface PolicySource extends ClaimPolicySource {
  /**
   * The version of `programId` (default: the source's program) in effect at `at`:
   * the latest `effective` ≤ at; versions without `effective` count as in effect
   * since forever. Throws a NotFoundError (`policyNotInEffect`) if none.
   */
  current(at: Date, programId?: string): CompiledPolicy;
  /** The shadow versions (`shadow: true`) of `programId` in service, by file name: never in effect, evaluated beside it. */
  shadows?(programId: string): CompiledPolicy[];
  /** A version by id and version (one seen since start, even if its file was since removed or broken). */
  get(ref: { id: string; version: string }): CompiledPolicy | undefined;
  /** Every version seen since start, by id, then effective instant, then version. */
  list(): PolicyVersion[];
}

export interface BrokenPolicyFile {
  file: string;
  /** `formatIssue` lines: FILE:LINE:COLUMN error code $.path: message. */
  errors: string[];
}

export interface PolicyReloadResult {
  /** Versions put in service by this reload (new, or new content for a version). */
  added: PolicyVersion[];
  /** Versions taken out of service (file removed, or its version string changed). */
  removed: PolicyVersion[];
  /** Files that broke (or broke differently) in this reload. */
  broken: string[];
}

export type PolicyRegistryEvent = 'reloaded' | 'broken';

export interface PolicyRegistry extends PolicySource {
  /** Versions in service and the files that do not load (the registry keeps serving the last good versions). */
  status(): { ok: boolean; versions: PolicyVersion[]; broken: BrokenPolicyFile[]; lastReloadAt: string | null };
  /** The policy file or directory it reads; `directory`: a folder of versions (files can be added to it). */
  location(): { path: string; directory: boolean };
  /** Re-reads the files now (what the watcher calls); concurrent calls are coalesced. Returns what changed. */
  reload(): Promise<PolicyReloadResult>;
  /** Watches the directory (fs.watch, debounced) with a slow poll as fallback; stop() ends it. */
  watch(): void;
  stop(): void;
  /** `reloaded`: a PolicyReloadResult that changed something; `broken`: a BrokenPolicyFile. */
  on(event: PolicyRegistryEvent, listener: (info: unknown) => void): void;
}

export type PolicyLog = (level: 'info' | 'warn' | 'error', message: string, details?: object) => void;

export interface PolicyRegistryOptions {
  /** A policy file, or a directory of *.yaml / *.yml policy files. */
  path: string;
  /** The program `current` serves by default: else `cpor` if loaded, else the id of the first valid file by name. */
  programId?: string;
  /** Stamps `loadedAt` and `lastReloadAt` (the domain never reads the system clock itself). */
  clock: { now(): Date };
  onLog?: PolicyLog;
  /** Quiet time after a file-system event before reloading. */
  debounceMs?: number;
  /** Poll interval of the fallback (fs.watch misses events on some file systems). */
  pollIntervalMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 200;
const DEFAULT_POLL_INTERVAL_MS = 3_000;
const POLICY_FILE = /\.ya?ml$/i;

interface Entry {
  id: string;
  version: string;
  effective: string | null;
  effectiveMs: number;
  shadow: boolean;
  file: string;
  digest: string;
  loadedAt: string;
  compiled: CompiledPolicy;
}

interface FileRecord {
  digest: string;
  /** The parse of the text with this digest (reused while the file does not change). */
  result: PolicyLoadResult;
  /** The last content of this file that was in service: what serves while it is broken. */
  good: { policy: Policy; digest: string } | null;
  /** The errors it is listed with in `broken`, if it is. */
  errors: PolicyIssue[] | null;
}

type ReadFile = { file: string; text: string } | { file: string; issue: PolicyIssue };

/** Loads the policy files, then serves them; rejects with the located errors when no file is valid. */
export async function createPolicyRegistry(options: PolicyRegistryOptions): Promise<PolicyRegistry> {
  const { path, clock } = options;
  const log: PolicyLog = options.onLog ?? (() => {});
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const info = await stat(path).catch(() => undefined);
  const singleFile = !info?.isDirectory();

  const compiledByDigest = new Map<string, CompiledPolicy>();
  /** Every version seen, by `id@version`: the latest content of each. */
  const seen = new Map<string, Entry>();
  /** The versions in service, by `id@version`, in file-name order. */
  let active = new Map<string, Entry>();
  let files = new Map<string, FileRecord>();
  let lastReloadAt: string | null = null;
  const listeners: Record<PolicyRegistryEvent, Array<(info: unknown) => void>> = { reloaded: [], broken: [] };

  const compile = (policy: Policy, digest: string): CompiledPolicy => {
    let compiled = compiledByDigest.get(digest);
    if (!compiled) {
      compiled = compilePolicy(policy);
      compiledByDigest.set(digest, compiled);
    }
    return compiled;
  };

  const emit = (event: PolicyRegistryEvent, payload: unknown) => {
    for (const listener of listeners[event]) {
      try {
        listener(payload);
      } catch (error) {
        log('error', `A policy registry "${event}" listener failed: ${(error as Error).message}`);
      }
    }
  };

  const describe = (entry: Entry, isActive = active.get(keyOf(entry)) === entry): PolicyVersion => ({
    id: entry.id,
    version: entry.version,
    effective: entry.effective,
    file: entry.file,
    digest: entry.digest,
    loadedAt: entry.loadedAt,
    active: isActive,
    ...(entry.shadow ? { shadow: true as const } : {}),
  });

  const brokenFiles = (): BrokenPolicyFile[] =>
    [...files.entries()]
      .filter(([, record]) => record.errors !== null)
      .map(([file, record]) => ({ file, errors: record.errors!.map(formatIssue) }));

  async function readFiles(): Promise<ReadFile[] | undefined> {
    let names: string[];
    if (singleFile) {
      names = [path];
    } else {
      try {
        const entries = await readdir(path, { withFileTypes: true });
        names = entries
          .filter((entry) => !entry.isDirectory() && POLICY_FILE.test(entry.name))
          .map((entry) => join(path, entry.name))
          .sort();
      } catch (error) {
        // A directory that vanished for a moment (a deploy swapping it) must not retire every version.
        log('error', `Cannot read the policy directory ${path}: ${(error as Error).message}; still serving the loaded versions.`, {
          path,
        });
        return undefined;
      }
    }
    const read: ReadFile[] = [];
    for (const file of names) {
      try {
        read.push({ file, text: await readFile(file, 'utf8') });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Removed between listing and reading: it is simply gone.
        if (code === 'ENOENT' && !singleFile) continue;
        read.push({ file, issue: fileIssue(file, code, error as Error) });
      }
    }
    return read;
  }

  async function load(): Promise<PolicyReloadResult> {
    const read = await readFiles();
    if (!read) return { added: [], removed: [], broken: [] };
    const now = clock.now().toISOString();
    const nextActive = new Map<string, Entry>();
    const nextFiles = new Map<string, FileRecord>();
    const newlyBroken: BrokenPolicyFile[] = [];

    /** The earlier file serving other content under the same id and version, if any (then this content is refused). */
    const conflictOf = (policy: Policy, digest: string): Entry | undefined => {
      const holder = nextActive.get(keyOf(policy));
      return holder && holder.digest !== digest ? holder : undefined;
    };
    const serve = (file: string, policy: Policy, digest: string) => {
      const key = keyOf(policy);
      if (nextActive.has(key)) return; // the same content in an earlier file
      const previous = seen.get(key);
      const entry: Entry =
        previous && previous.digest === digest && previous.file === file
          ? previous
          : {
              id: policy.id,
              version: policy.version,
              effective: policy.effective === undefined ? null : new Date(policy.effective).toISOString(),
              effectiveMs: policy.effective === undefined ? -Infinity : Date.parse(policy.effective),
              shadow: policy.shadow === true,
              file,
              digest,
              loadedAt: now,
              compiled: compile(policy, digest),
            };
      nextActive.set(key, entry);
    };

    // A file that already serves a version keeps it: a copy dropped in beside it (whatever its
    // name) is the duplicate, never the other way round. Otherwise files count in name order.
    const incumbents = new Set([...active.values()].map((entry) => entry.file));
    const ordered = [...read].sort((a, b) => Number(incumbents.has(b.file)) - Number(incumbents.has(a.file)));
    for (const item of ordered) {
      const { file } = item;
      const previous = files.get(file);
      // An unreadable file has no content: it parses as its one issue.
      const digest = 'issue' in item ? '' : sha256(item.text);
      const result: PolicyLoadResult =
        'issue' in item
          ? { ok: false, errors: [item.issue], warnings: [] }
          : previous?.digest === digest
            ? previous.result
            : parsePolicyAheadOfTime(item.text, file);
      let errors: PolicyIssue[] | null = result.ok ? null : result.errors;
      let good = previous?.good ?? null;
      if (result.ok) {
        const holder = conflictOf(result.policy, digest);
        if (holder) {
          errors = [duplicateIssue(file, 'text' in item ? item.text : '', result.policy, holder.file)];
        } else {
          good = { policy: result.policy, digest };
          serve(file, result.policy, digest);
        }
      }
      // Broken (or a refused duplicate): its last good content keeps serving, unless another file took that version.
      if (errors && good && !conflictOf(good.policy, good.digest)) serve(file, good.policy, good.digest);
      nextFiles.set(file, { digest, result, good, errors });
      const wasBroken = previous?.errors ?? null;
      if (errors && !(wasBroken && previous?.digest === digest && sameIssues(wasBroken, errors))) {
        newlyBroken.push({ file, errors: errors.map(formatIssue) });
      }
    }

    const added = [...nextActive.entries()].filter(([key, entry]) => active.get(key) !== entry).map(([, entry]) => entry);
    const removed = [...active.entries()].filter(([key, entry]) => nextActive.get(key) !== entry).map(([, entry]) => entry);
    const fixed = [...files.entries()].filter(([file, record]) => record.errors && nextFiles.get(file)?.errors === null);
    const gone = [...files.keys()].filter((file) => !nextFiles.has(file));

    active = nextActive;
    files = nextFiles;
    lastReloadAt = now;
    for (const entry of added) {
      const replaced = seen.get(keyOf(entry));
      if (replaced && replaced.digest !== entry.digest) {
        log('warn', `Policy ${entry.id} ${entry.version} changed content without a new version: claims pinned to it now follow ${entry.file}.`, {
          id: entry.id,
          version: entry.version,
          file: entry.file,
          digest: entry.digest,
          previousDigest: replaced.digest,
        });
      }
      seen.set(keyOf(entry), entry);
    }

    for (const entry of added) {
      log('info', `Policy ${entry.id} ${entry.version} in service from ${entry.file}.`, describe(entry, true));
    }
    for (const entry of removed) {
      if (active.has(keyOf(entry))) continue; // replaced by new content, reported above
      log('info', `Policy ${entry.id} ${entry.version} (${entry.file}) is no longer in service; claims pinned to it keep it.`, {
        ...describe(entry, false),
      });
    }
    for (const file of gone) log('info', `Policy file ${file} was removed.`, { file });
    for (const [file] of fixed) log('info', `Policy file ${file} loads again.`, { file });
    for (const broken of newlyBroken) {
      const record = files.get(broken.file)!;
      const serving = record.good && active.get(keyOf(record.good.policy));
      log(
        'error',
        `Policy file ${broken.file} does not load (${broken.errors.length} error${broken.errors.length === 1 ? '' : 's'}); ${
          serving ? `still serving ${serving.id} ${serving.version} from its last good content` : 'it serves no version'
        }.`,
        { file: broken.file, errors: broken.errors },
      );
      emit('broken', broken);
    }

    const outcome: PolicyReloadResult = {
      added: added.map((entry) => describe(entry, true)),
      removed: removed.map((entry) => describe(entry, false)),
      broken: newlyBroken.map((b) => b.file),
    };
    if (added.length || removed.length || fixed.length || gone.length) {
      emit('reloaded', outcome);
    }
    return outcome;
  }

  // Reloads run one at a time; requests during a reload share the one queued after it.
  let chain: Promise<unknown> = Promise.resolve();
  let queued: Promise<PolicyReloadResult> | null = null;
  const reload = (): Promise<PolicyReloadResult> => {
    if (queued) return queued;
    const next = chain.then(() => {
      queued = null;
      return load();
    });
    queued = next;
    chain = next.catch(() => undefined);
    return next;
  };

  await reload();
  if (active.size === 0) throw noValidPolicy(path, singleFile, [...files.values()].flatMap((r) => r.errors ?? []));
  const programId = options.programId ?? defaultProgram([...active.values()]);
  if (![...active.values()].some((entry) => entry.id === programId)) {
    throw new PolicyError([
      {
        file: path,
        line: 1,
        column: 1,
        path: '$.id',
        code: 'unknownProgram',
        message: `No valid policy file has id "${programId}"; loaded: ${[...new Set([...active.values()].map((e) => e.id))].join(', ')}.`,
        severity: 'error',
      },
    ]);
  }

  let watcher: FSWatcher | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let poll: NodeJS.Timeout | null = null;
  const reloadQuietly = () => {
    reload().catch((error: Error) => log('error', `Reloading the policy files failed: ${error.message}`, { path }));
  };

  return {
    current(at, program = programId) {
      const time = at.getTime();
      // A shadow version is never in effect, whatever its `effective` (so no claim is ever pinned to it).
      const versions = [...active.values()].filter((entry) => entry.id === program && !entry.shadow);
      const inEffect = versions.filter((entry) => entry.effectiveMs <= time).sort(byEffective);
      const chosen = inEffect[inEffect.length - 1];
      if (chosen) return chosen.compiled;
      const earliest = versions.sort(byEffective)[0];
      throw new NotFoundError(
        'policyNotInEffect',
        earliest
          ? `No version of policy ${program} is in effect at ${at.toISOString()}: the earliest, ${earliest.version}, takes effect at ${earliest.effective}.`
          : `No policy ${program} is loaded.`,
      );
    },
    shadows(program) {
      return [...active.values()].filter((entry) => entry.id === program && entry.shadow).map((entry) => entry.compiled);
    },
    get(ref) {
      return seen.get(`${ref.id}@${ref.version}`)?.compiled;
    },
    list() {
      return [...seen.values()].sort(byProgramAndEffective).map((entry) => describe(entry));
    },
    status() {
      const broken = brokenFiles();
      return {
        ok: broken.length === 0,
        versions: [...active.values()].sort(byProgramAndEffective).map((entry) => describe(entry, true)),
        broken,
        lastReloadAt,
      };
    },
    location() {
      return { path, directory: !singleFile };
    },
    reload,
    watch() {
      if (poll) return;
      const directory = singleFile ? dirname(path) : path;
      try {
        // Any event reloads (debounced): a Kubernetes ConfigMap update swaps a `..data` symlink, not a *.yaml name,
        // and a reload of unchanged files re-reads them without reparsing.
        watcher = watchDirectory(directory, { persistent: false }, () => {
          if (debounce) clearTimeout(debounce);
          debounce = setTimeout(() => {
            debounce = null;
            reloadQuietly();
          }, debounceMs);
          debounce.unref();
        });
        watcher.on('error', (error) => {
          log('warn', `Watching ${directory} failed (${error.message}); polling every ${pollIntervalMs} ms instead.`, { path });
          watcher?.close();
          watcher = null;
        });
      } catch (error) {
        log('warn', `Cannot watch ${directory} (${(error as Error).message}); polling every ${pollIntervalMs} ms instead.`, { path });
      }
      poll = setInterval(reloadQuietly, pollIntervalMs);
      poll.unref();
    },
    stop() {
      watcher?.close();
      watcher = null;
      if (debounce) clearTimeout(debounce);
      if (poll) clearInterval(poll);
      debounce = null;
      poll = null;
    },
    on(event, listener) {
      listeners[event].push(listener);
    },
  };
}

/** A source of exactly one compiled policy (tests, simulations): `current` is it at every instant. */
export function staticPolicySource(policy: CompiledPolicy, meta: { file?: string; loadedAt?: string } = {}): PolicySource {
  const { id, version, effective } = policy.policy;
  const described: PolicyVersion = {
    id,
    version,
    effective: effective === undefined ? null : new Date(effective).toISOString(),
    file: meta.file ?? '',
    digest: sha256(JSON.stringify(policy.policy)),
    loadedAt: meta.loadedAt ?? '',
    active: true,
  };
  return {
    current: () => policy,
    shadows: () => [],
    get: (ref) => (ref.id === id && ref.version === version ? policy : undefined),
    list: () => [{ ...described }],
  };
}

function keyOf(policy: { id: string; version: string }): string {
  return `${policy.id}@${policy.version}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const collator = new Intl.Collator('en', { numeric: true });

/** Effective instant, then version (numeric-aware), then file: the last one wins a tie. */
function byEffective(a: Entry, b: Entry): number {
  return a.effectiveMs - b.effectiveMs || collator.compare(a.version, b.version) || collator.compare(a.file, b.file);
}

function byProgramAndEffective(a: Entry, b: Entry): number {
  return collator.compare(a.id, b.id) || byEffective(a, b);
}

function defaultProgram(entries: Entry[]): string {
  return entries.some((entry) => entry.id === 'cpor') ? 'cpor' : entries[0]!.id;
}

function sameIssues(a: PolicyIssue[], b: PolicyIssue[]): boolean {
  return a.length === b.length && a.every((issue, i) => formatIssue(issue) === formatIssue(b[i]!));
}

function fileIssue(file: string, code: string | undefined, error: Error): PolicyIssue {
  return {
    file,
    line: 1,
    column: 1,
    path: '$',
    code: code === 'ENOENT' ? 'fileNotFound' : 'unreadableFile',
    message: code === 'ENOENT' ? 'No such policy file.' : `The policy file cannot be read: ${error.message}.`,
    severity: 'error',
  };
}


function noValidPolicy(path: string, singleFile: boolean, issues: PolicyIssue[]): PolicyError {
  const all: PolicyIssue[] = issues.length
    ? issues
    : [
        {
          file: path,
          line: 1,
          column: 1,
          path: '$',
          code: 'noPolicyFiles',
          message: singleFile ? 'No such policy file.' : 'No policy files (*.yaml, *.yml) in this directory.',
          severity: 'error',
        },
      ];
  const error = new PolicyError(all);
  error.message = `No valid policy in ${path}:\n${all.map(formatIssue).join('\n')}`;
  return error;
}
