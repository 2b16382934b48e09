/**
 * `cpor policy lint PATH…`: loads each policy file and reports every issue on a
 * located line, then one summary line per file. Exit code 1 if any file has an error.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { duplicateIssue, formatIssue, loadPolicyFile } from '../rules/load-policy';
import type { PolicyIssue } from '../rules/load-policy';

/** Where the report goes; each call is given whole lines, newline included. */
export interface LintOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** One file's result in `--json` output. */
export interface PolicyLintReport {
  file: string;
  ok: boolean;
  policy?: { id: string; version: string };
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
}

/** Lints policy files (a directory means its *.yaml / *.yml files); returns the exit code. */
export async function lintPolicies(paths: string[], out: LintOutput, opts: { json?: boolean } = {}): Promise<number> {
  if (paths.length === 0) {
    out.stderr('cpor policy lint: give at least one policy file or directory.\n');
    return 1;
  }
  let failed = false;
  const files: string[] = [];
  for (const path of paths) {
    const expanded = await expand(path);
    if (expanded.length === 0) {
      out.stderr(`${path}: no policy files (*.yaml, *.yml) in this directory.\n`);
      failed = true;
    }
    files.push(...expanded);
  }

  const reports: PolicyLintReport[] = [];
  // As the service's policy folder does: one content per id and version, the first file in name order holding it.
  const holders = new Map<string, { file: string; digest: string }>();
  for (const file of files) {
    const result = await loadPolicyFile(file);
    let report: PolicyLintReport = result.ok
      ? {
          file,
          ok: true,
          policy: { id: result.policy.id, version: result.policy.version },
          errors: [],
          warnings: result.warnings,
        }
      : { file, ok: false, errors: result.errors, warnings: result.warnings };
    if (result.ok) {
      const text = await readFile(file, 'utf8');
      const digest = createHash('sha256').update(text).digest('hex');
      const key = JSON.stringify([result.policy.id, result.policy.version]);
      const holder = holders.get(key);
      if (!holder) holders.set(key, { file, digest });
      else if (holder.digest !== digest) {
        report = { file, ok: false, errors: [duplicateIssue(file, text, result.policy, holder.file)], warnings: result.warnings };
      }
    }
    reports.push(report);
    if (!report.ok) failed = true;
    if (!opts.json) {
      const issues = [...report.errors, ...report.warnings].sort((a, b) => a.line - b.line || a.column - b.column);
      for (const issue of issues) out.stdout(`${formatIssue(issue)}\n`);
      out.stdout(`${summary(report)}\n`);
    }
  }
  if (opts.json) out.stdout(`${JSON.stringify(reports, null, 2)}\n`);
  return failed ? 1 : 0;
}

/** A file as itself; a directory as its policy files, sorted. A missing path stays (the loader reports it). */
async function expand(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => join(path, entry.name))
    .sort();
}

function summary(report: PolicyLintReport): string {
  const warnings = report.warnings.length ? `, ${count(report.warnings.length, 'warning')}` : '';
  return report.ok && report.policy
    ? `${report.file}: ok (policy ${report.policy.id} ${report.policy.version})${warnings}`
    : `${report.file}: ${count(report.errors.length, 'error')}${warnings}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
