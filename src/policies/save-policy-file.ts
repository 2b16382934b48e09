/**
 * Policy files as the console reads and saves them: by plain name in the service's policy
 * directory, linted before they are written, written atomically (a temporary file renamed
 * over the name), then put in service by a reload of the registry.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMap, parseDocument, type YAMLMap } from 'yaml';
import { ConflictError, InputError, NotFoundError } from '../domain/errors';
import { duplicateIssue, parsePolicy, type PolicyIssue } from '../rules/load-policy';
import type { PolicyRegistry, PolicyVersion } from './policy-registry';

/** A file name the console may read or write: no folders, no hidden files, a YAML extension. */
const POLICY_FILE_NAME = /^[a-z0-9][a-z0-9._-]*\.ya?ml$/;

type Files = Pick<PolicyRegistry, 'location' | 'reload' | 'status' | 'list'>;

export type SaveResult =
  | { ok: true; file: string; created: boolean; version: PolicyVersion }
  | { ok: false; issues: PolicyIssue[] };

/** The text of policy file `name` (in the directory, or the one file the service runs on). */
export async function readPolicyFile(files: Pick<PolicyRegistry, 'location'>, name: string): Promise<string> {
  checkName(name);
  const { path, directory } = files.location();
  const target = directory ? join(path, name) : basename(path) === name ? path : undefined;
  const text = target === undefined ? undefined : await readFile(target, 'utf8').catch(() => undefined);
  if (text === undefined) throw new NotFoundError('policyFileNotFound', `No policy file ${name}.`);
  return text;
}

/**
 * Lints `text` (after setting `shadow: true` when asked) and, when it loads and does not
 * clash with another file's version, writes it as `name` and reloads. Broken text is not
 * written: the issues are the answer.
 */
export async function savePolicyFile(files: Files, name: string, text: string, options: { shadow?: boolean } = {}): Promise<SaveResult> {
  checkName(name);
  const { path, directory } = files.location();
  if (!directory) {
    throw new ConflictError(
      'policyDirectoryRequired',
      `The service runs on the single policy file ${basename(path)}: set CPOR_POLICY to a folder of policy files to save over the API.`,
    );
  }
  const content = options.shadow ? withShadowFlag(text) : text;
  const parsed = parsePolicy(content, name);
  if (!parsed.ok) return { ok: false, issues: [...parsed.errors, ...parsed.warnings] };
  const target = join(path, name);
  const digest = createHash('sha256').update(content).digest('hex');
  // The registry keeps the file that already serves a version: a second file with other content under it is refused.
  const holder = files.status().versions.find(
    (v) => v.id === parsed.policy.id && v.version === parsed.policy.version && v.file !== target && v.digest !== digest,
  );
  if (holder) return { ok: false, issues: [duplicateIssue(name, content, parsed.policy, basename(holder.file))] };

  const existed = await readFile(target).then(
    () => true,
    () => false,
  );
  // Same folder, so the rename is atomic: the watcher never reads a half-written file. The name is not *.yaml, so it is never loaded.
  const temporary = join(path, `.${name}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, content, { encoding: 'utf8', flag: 'wx', mode: 0o644 });
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
  await files.reload();
  const version = files.list().find((v) => v.file === target && v.active && v.digest === digest);
  if (!version) {
    // Another writer changed the folder meanwhile: say what the registry makes of this file now.
    const broken = files.status().broken.find((b) => b.file === target);
    return { ok: false, issues: (broken?.errors ?? ['The file was written but is not in service.']).map((message) => unlocated(name, message)) };
  }
  return { ok: true, file: name, created: !existed, version };
}

/** `text` with `shadow: true` set at the top level (after `effective`, else `version`); comments and layout kept. */
export function withShadowFlag(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return text; // the lint reports what is wrong with it
  const map = doc.contents as YAMLMap<unknown, unknown>;
  if (doc.has('shadow')) {
    doc.set('shadow', true);
  } else {
    const keys = map.items.map((pair) => String((pair.key as { value?: unknown } | null)?.value ?? pair.key));
    const after = Math.max(keys.indexOf('effective'), keys.indexOf('version'));
    map.items.splice(after + 1, 0, doc.createPair('shadow', true));
  }
  return doc.toString({ lineWidth: 0 });
}

function checkName(name: string): void {
  if (!POLICY_FILE_NAME.test(name)) {
    throw new InputError(
      'invalidPolicyFileName',
      `"${name}" is not a policy file name: lower-case letters, digits, ".", "-" and "_", starting with a letter or digit and ending in .yaml or .yml.`,
      '$.file',
    );
  }
}

function unlocated(file: string, message: string): PolicyIssue {
  return { file, line: 1, column: 1, path: '$', code: 'notInService', message, severity: 'error' };
}
