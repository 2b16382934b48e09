/**
 * `/console/policies`: every policy version with its effective instant, the one in effect, the
 * claims that follow each, shadow versions marked, and the files that do not load with their
 * located errors. `/console/policies/<file>`: that file in the YAML editor (CodeMirror, loaded
 * on demand), linted as you type, with its problems listed under it; saved as is or as a shadow
 * version, or compared with a loaded version in the diff view.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiProblem, ok } from '../../api/client';
import { t } from '../../i18n/i18n';
import { link, navigate } from '../../router';
import type { ConsolePage, ConsolePageProps } from './console-pages';
import { getText, loadDraft, saveDraft, sendYaml, type LintIssue, type LintResult, type PolicyList, type SavedPolicy } from './policy-api';
import type { PolicyEditor } from './policy-editor';
import './policy-console.css';

const when = (instant: string | null) => (instant === null ? t('policy.always') : new Date(instant).toLocaleString());

function PolicyVersions() {
  const [list, setList] = useState<PolicyList | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    api.GET('/v1/policies').then((r) => setList(ok(r)), (e: Error) => setError(e.message));
  }, []);
  if (error) return <p class="alert alert-error">{error}</p>;
  if (!list) return <p>{t('loading')}</p>;
  const broken = list.status?.broken ?? [];
  return (
    <section>
      <h1>{t('policy.title')}</h1>
      <p>{t('policy.intro')}</p>
      <table class="table">
        <caption class="visually-hidden">{t('policy.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('policy.program')}</th>
            <th scope="col">{t('policy.version')}</th>
            <th scope="col">{t('policy.effective')}</th>
            <th scope="col">{t('policy.state')}</th>
            <th scope="col">{t('policy.claims')}</th>
            <th scope="col">{t('policy.file')}</th>
          </tr>
        </thead>
        <tbody>
          {list.versions.map((v) => (
            <tr key={`${v.id}@${v.version}`} data-version={v.version}>
              <td>{v.id}</td>
              <td class="mono">{v.version}</td>
              <td>{when(v.effective)}</td>
              <td>
                {v.inEffect && <span class="chip chip-ok">{t('policy.inEffect')}</span>}
                {v.shadow && <span class="chip chip-info">{t('policy.shadow')}</span>}
                {!v.active && <span class="chip chip-muted">{t('policy.retired')}</span>}
              </td>
              <td>{v.claims}</td>
              <td>
                {v.file ? (
                  <a {...link(`/console/policies/${encodeURIComponent(v.file)}`)} aria-label={t('policy.editFile', { file: v.file })}>
                    {v.file}
                  </a>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 class="broken-heading">{t('policy.broken')}</h2>
      {broken.length === 0 ? (
        <p class="ok-text">{t('policy.noBroken')}</p>
      ) : (
        <ul class="plain broken-files">
          {broken.map((file) => (
            <li key={file.file} class="card">
              <h3 class="small-heading mono">{file.file}</h3>
              <ul class="issue-list">
                {(file.errors ?? []).map((line) => (
                  <li key={line} class="mono">
                    {line}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

type Status = { kind: 'ok' | 'error'; text: string } | undefined;

function PolicyFileEditor({ file }: { file: string }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<PolicyEditor | undefined>(undefined);
  const [text, setText] = useState<string | undefined>();
  const [issues, setIssues] = useState<LintIssue[] | undefined>();
  const [failed, setFailed] = useState('');
  const [saveAs, setSaveAs] = useState(file);
  const [status, setStatus] = useState<Status>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const draft = loadDraft();
    const fromServer = getText(`/v1/policies/files/${encodeURIComponent(file)}`);
    fromServer.then(
      (served) => setText(draft?.file === file ? draft.text : served),
      (e: Error) => setFailed(e.message),
    );
  }, [file]);

  useEffect(() => {
    if (text === undefined || !host.current || editor.current) return;
    let cancelled = false;
    const lint = (value: string) =>
      sendYaml<LintResult>('POST', '/v1/policies/lint', value).then(
        (result) => result.issues,
        () => undefined,
      );
    Promise.all([import('./policy-editor'), api.GET('/v1/policies/schema').then((r) => r.data as object | undefined, () => undefined)]).then(
      ([{ createPolicyEditor }, schema]) => {
        if (cancelled || !host.current) return;
        editor.current = createPolicyEditor({
          parent: host.current,
          text,
          label: t('editor.label', { file }),
          describedBy: 'editor-help',
          lint,
          schema,
          onChange: (value) => saveDraft({ file, text: value }),
          onIssues: setIssues,
        });
      },
      (e: Error) => setFailed(e.message),
    );
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = undefined;
    };
  }, [text === undefined]);

  const save = async (shadow: boolean) => {
    if (!editor.current) return;
    setBusy(true);
    setStatus(undefined);
    try {
      const saved = await sendYaml<SavedPolicy>('PUT', `/v1/policies/files/${encodeURIComponent(saveAs)}${shadow ? '?shadow=true' : ''}`, editor.current.text());
      setStatus({
        kind: 'ok',
        text: t(saved.version.shadow ? 'editor.savedShadow' : 'editor.saved', { id: saved.version.id ?? '', version: saved.version.version ?? '', file: saved.file }),
      });
    } catch (e) {
      const problem = e instanceof ApiProblem ? e.problem : undefined;
      const located = (problem?.errors ?? []) as unknown as LintIssue[];
      if (located.length && located[0]!.line !== undefined) setIssues(located);
      setStatus({ kind: 'error', text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const compare = () => {
    if (editor.current) saveDraft({ file, text: editor.current.text() });
    navigate('/console/diff?to=draft');
  };

  const errors = issues?.filter((i) => i.severity === 'error').length ?? 0;
  return (
    <section>
      <p>
        <a {...link('/console/policies')}>{t('editor.back')}</a>
      </p>
      <h1>{t('editor.title', { file })}</h1>
      <p id="editor-help" class="muted">
        {t('editor.keyboard')}
      </p>
      {failed && <p class="alert alert-error">{failed}</p>}
      <div ref={host} class="policy-editor" />
      <h2 class="small-heading" id="problems-heading">
        {issues === undefined ? t('editor.linting') : issues.length === 0 ? t('editor.noProblems') : t('editor.problems', { count: issues.length })}
      </h2>
      <ul class="issue-list" aria-labelledby="problems-heading" aria-live="polite">
        {(issues ?? []).map((issue) => (
          <li key={`${issue.line}:${issue.column}:${issue.code}:${issue.path}`} class={`issue issue-${issue.severity}`}>
            <button type="button" class="btn btn-quiet btn-small" onClick={() => editor.current?.goTo(issue.line, issue.column)}>
              {t('editor.at', { line: issue.line, column: issue.column })}
            </button>
            <span class={`chip ${issue.severity === 'error' ? 'chip-danger' : 'chip-warn'}`}>{issue.code}</span>
            <span>{issue.message}</span> <span class="mono muted">{issue.path}</span>
          </li>
        ))}
      </ul>
      <div class="card save-box">
        <label class="field">
          {t('editor.saveAs')}
          <input value={saveAs} onInput={(e) => setSaveAs((e.currentTarget as HTMLInputElement).value)} class="mono" />
        </label>
        <div class="actions">
          <button type="button" class="btn btn-primary" disabled={busy || errors > 0} onClick={() => save(false)}>
            {t('editor.save')}
          </button>
          <button type="button" class="btn" disabled={busy || errors > 0} onClick={() => save(true)}>
            {t('editor.saveShadow')}
          </button>
          <button type="button" class="btn" onClick={compare}>
            {t('editor.compare')}
          </button>
        </div>
        <p class="muted small">{t('editor.saveHelp')}</p>
        <p role="status" class={status?.kind === 'error' ? 'error-text' : 'ok-text'}>
          {status?.text ?? ''}
        </p>
      </div>
    </section>
  );
}

function PolicyPage({ rest }: ConsolePageProps) {
  const file = rest[0];
  return file ? <PolicyFileEditor key={file} file={file} /> : <PolicyVersions />;
}

/** The console's policy page (versions, broken files, the editor). */
export const POLICY_PAGE: ConsolePage = {
  slug: 'policies',
  title: 'policy.title',
  summary: 'policy.summary',
  render: (props) => <PolicyPage {...props} />,
};
