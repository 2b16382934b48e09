/**
 * `/console/diff?from=&to=`: two policy versions (or the editor's draft, `to=draft`) side by
 * side, section by section, as `cpor policy diff` computes them: each change with its value
 * before and after (a rule's condition, a deadline's days, a list's members).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../../api/client';
import { t } from '../../i18n/i18n';
import { link, navigate, useLocation } from '../../router';
import type { ConsolePage } from './console-pages';
import { loadDraft, sendYaml, type PolicyChangeView, type PolicyDiffView, type PolicyList } from './policy-api';

const DRAFT = 'draft';

/** A value as a reader wants it: scalars as they are, lists and mappings as indented YAML-like lines. */
function show(value: unknown, indent = ''): string {
  if (value === undefined) return '';
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.join(', ')}]`;
    return value.map((v) => `${indent}- ${show(v, `${indent}  `).trimStart()}`).join('\n');
  }
  return Object.entries(value)
    .map(([key, v]) => (v !== null && typeof v === 'object' && !(Array.isArray(v) && v.every((x) => typeof x !== 'object')) ? `${indent}${key}:\n${show(v, `${indent}  `)}` : `${indent}${key}: ${show(v)}`))
    .join('\n');
}

function Change({ change }: { change: PolicyChangeView }) {
  return (
    <tr class={`change change-${change.kind}`}>
      <th scope="row">
        <span class={`chip ${change.kind === 'added' ? 'chip-ok' : change.kind === 'removed' ? 'chip-danger' : 'chip-info'}`}>{t(`diff.${change.kind}`)}</span>
        <span class="mono">{change.key}</span>
        <div class="small muted">{change.summary}</div>
      </th>
      <td>
        <pre class="diff-value">{show(change.before)}</pre>
      </td>
      <td>
        <pre class="diff-value">{show(change.after)}</pre>
      </td>
    </tr>
  );
}

function DiffPage() {
  const location = useLocation();
  const params = new URLSearchParams(location.split('?')[1] ?? '');
  const draft = loadDraft();
  const [list, setList] = useState<PolicyList | undefined>();
  const [diff, setDiff] = useState<PolicyDiffView | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    api.GET('/v1/policies').then((r) => setList(ok(r)), (e: Error) => setError(e.message));
  }, []);
  const versions = list?.versions ?? [];
  const live = versions.find((v) => v.inEffect);
  const from = params.get('from') ?? live?.version ?? '';
  const to = params.get('to') ?? (draft ? DRAFT : (versions[versions.length - 1]?.version ?? ''));

  useEffect(() => {
    if (!from || !to) return;
    setError('');
    setDiff(undefined);
    const request =
      to === DRAFT
        ? draft
          ? sendYaml<PolicyDiffView>('POST', `/v1/policies/diff?from=${encodeURIComponent(from)}`, draft.text)
          : Promise.reject(new Error(t('diff.noDraft')))
        : api.GET('/v1/policies/diff', { params: { query: { from, to } } }).then(ok);
    request.then(setDiff, (e: Error) => setError(e.message));
  }, [from, to, list !== undefined]);

  const pick = (name: 'from' | 'to', value: string) => {
    const next = new URLSearchParams({ from, to, [name]: value });
    navigate(`/console/diff?${next.toString()}`, true);
  };
  const choices = (includeDraft: boolean) => (
    <>
      {versions.map((v) => (
        <option key={`${v.id}@${v.version}`} value={v.version}>
          {v.id} {v.version}
          {v.inEffect ? ` (${t('policy.inEffect')})` : ''}
          {v.shadow ? ` (${t('policy.shadow')})` : ''}
        </option>
      ))}
      {includeDraft && draft && <option value={DRAFT}>{t('diff.draft', { file: draft.file })}</option>}
    </>
  );

  return (
    <section>
      <h1>{t('diff.title')}</h1>
      <p>{t('diff.intro')}</p>
      <div class="toolbar">
        <label>
          {t('diff.from')}
          <select value={from} onChange={(e) => pick('from', (e.currentTarget as HTMLSelectElement).value)}>
            {choices(false)}
          </select>
        </label>
        <label>
          {t('diff.to')}
          <select value={to} onChange={(e) => pick('to', (e.currentTarget as HTMLSelectElement).value)}>
            {choices(true)}
          </select>
        </label>
        {draft && (
          <a class="btn btn-quiet" {...link(`/console/policies/${encodeURIComponent(draft.file)}`)}>
            {t('diff.backToEditor')}
          </a>
        )}
      </div>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {!diff && !error && <p>{t('loading')}</p>}
      {diff && diff.changes.length === 0 && <p class="ok-text">{t('diff.none')}</p>}
      {diff &&
        diff.sections.map((section) => {
          const changes = diff.changes.filter((c) => c.section === section);
          if (changes.length === 0) return null;
          return (
            <section key={section} class="card diff-section" aria-labelledby={`diff-${section}`}>
              <h2 id={`diff-${section}`}>{section}</h2>
              <table class="table diff-table">
                <thead>
                  <tr>
                    <th scope="col">{t('diff.change')}</th>
                    <th scope="col">{t('diff.before', { version: diff.from.version })}</th>
                    <th scope="col">{t('diff.after', { version: to === DRAFT ? t('diff.draftShort') : diff.to.version })}</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((change) => (
                    <Change key={change.key + change.kind} change={change} />
                  ))}
                </tbody>
              </table>
            </section>
          );
        })}
    </section>
  );
}

/** The console's diff view. */
export const DIFF_PAGE: ConsolePage = {
  slug: 'diff',
  title: 'diff.title',
  summary: 'diff.summary',
  render: () => <DiffPage />,
};
