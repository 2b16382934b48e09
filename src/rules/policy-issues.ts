/**
 * What a policy check reports: located issues (file, line, column, JSONPath), the
 * load result, and the issues' order and wording helpers every check shares.
 */
import type { Policy } from './policy-types';

export interface PolicyIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSONPath of the offending value, e.g. `$.deadlines.reviewStart.runsIn[0]`. */
  path: string;
  code: string;
  message: string;
  severity: 'error' | 'warning';
}

export type PolicyLoadResult =
  | { ok: true; policy: Policy; warnings: PolicyIssue[] }
  | { ok: false; errors: PolicyIssue[]; warnings: PolicyIssue[] };

/** Thrown by callers that prefer an exception to a `PolicyLoadResult`. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly issues: PolicyIssue[];
  constructor(issues: PolicyIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const first = errors[0] ?? issues[0];
    super(
      first
        ? `Invalid policy: ${formatIssue(first)}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`
        : 'Invalid policy',
    );
    this.issues = issues;
  }
}

/** One located line: `policies/x.yaml:12:5 error unknownState $.deadlines.a.runsIn[0]: ...`. */
export function formatIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.column} ${issue.severity} ${issue.code} ${issue.path}: ${issue.message}`;
}


export type Segment = string | number;

/** An issue found in the data, before it is located in the YAML document. */
export interface RawIssue {
  segments: Segment[];
  /** Point at the key of the last segment (an unknown or duplicated key), not its value. */
  atKey?: boolean;
  code: string;
  message: string;
  severity?: 'error' | 'warning';
}

/** A failed load: the issues sorted by position, without repeats, errors apart from warnings. */
export function failedLoad(issues: PolicyIssue[]): PolicyLoadResult {
  const sorted = sortIssues(dedupe(issues));
  return {
    ok: false,
    errors: sorted.filter((i) => i.severity === 'error'),
    warnings: sorted.filter((i) => i.severity === 'warning'),
  };
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.line}:${i.column}:${i.code}:${i.path}:${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The issues by position in the file, without repeats. */
export function sortedUnique(issues: PolicyIssue[]): PolicyIssue[] {
  return sortIssues(dedupe(issues));
}

function sortIssues(issues: PolicyIssue[]): PolicyIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `$.deadlines.reviewStart.runsIn[0]`; keys that are not identifiers are bracketed. */
export function toJsonPath(segments: readonly Segment[]): string {
  return segments.reduce<string>((path, segment) => {
    if (typeof segment === 'number') return `${path}[${segment}]`;
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) return `${path}.${segment}`;
    return `${path}['${segment.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }, '$');
}

/** A second file with the same id and version but other content, located at its `version:` key. */
export function duplicateIssue(file: string, text: string, policy: Policy, earlierFile: string): PolicyIssue {
  const match = /^version[ \t]*:/m.exec(text);
  const before = text.slice(0, match?.index ?? 0).split('\n');
  return {
    file,
    line: before.length,
    column: before[before.length - 1]!.length + 1,
    path: '$.version',
    code: 'duplicateVersion',
    message: `Duplicate version ${policy.id} ${policy.version} in ${earlierFile} and ${file} with different content: give this file a new version.`,
    severity: 'error',
  };
}

