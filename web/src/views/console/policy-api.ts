/**
 * The policy console's calls that send policy YAML (lint, diff against a draft, save), its
 * types from schema.d.ts, and the editor's draft, kept while the program manager moves to the
 * diff view and back.
 */
import { authHeaders, problemOf } from '../../api/client';
import type { Json } from '../../api/contract';
import type { paths } from '../../api/schema';

export type PolicyList = Json<paths['/v1/policies']['get']['responses'][200]>;
export type LintResult = Json<paths['/v1/policies/lint']['post']['responses'][200]>;
export type LintIssue = LintResult['issues'][number];
export type PolicyDiffView = Json<paths['/v1/policies/diff']['get']['responses'][200]>;
export type PolicyChangeView = PolicyDiffView['changes'][number];
export type SavedPolicy = Json<paths['/v1/policies/files/{file}']['put']['responses'][200]>;

/** Sends policy YAML; the parsed JSON answer, or throws the problem (an ApiProblem). */
export async function sendYaml<T>(method: 'POST' | 'PUT', path: string, text: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { method, headers: { ...authHeaders(), 'Content-Type': 'application/yaml' }, body: text, ...(signal ? { signal } : {}) });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw problemOf(res.status, body);
  return body as T;
}

/** GET of a text resource (a policy file). */
export async function getText(path: string): Promise<string> {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw problemOf(res.status, await res.json().catch(() => undefined));
  return res.text();
}

export interface Draft {
  file: string;
  text: string;
}

const DRAFT_KEY = 'cpor.policyDraft';

/** The editor's text, kept for this tab (the diff view compares it with a version). */
export function saveDraft(draft: Draft): void {
  sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
}

export function loadDraft(): Draft | undefined {
  try {
    const stored = sessionStorage.getItem(DRAFT_KEY);
    return stored ? (JSON.parse(stored) as Draft) : undefined;
  } catch {
    return undefined;
  }
}
