/**
 * `/console/backtest`: a program manager backtests a candidate policy (a loaded version, or
 * pasted YAML) against the stored claims: the job's progress streams in (server-sent
 * events), then the totals as a chart (outcome before → after, by status and by reason),
 * the evaluation time of baseline and candidate, the per-claim table a page at a time, and
 * the CSV and JSON downloads.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, authHeaders, ok, problemOf, type ApiProblem } from '../../api/client';
import type { paths } from '../../api/schema';
import { t } from '../../i18n/i18n';
import { statusTextOf, usePolicy } from '../../policy';
import type { ConsolePageProps } from './console-pages';

type Job = paths['/v1/backtest/jobs/{id}']['get']['responses'][200]['content']['application/json'];
type Page = paths['/v1/backtest/jobs/{id}/claims']['get']['responses'][200]['content']['application/json'];
const PAGE = 20;

/** Reads a server-sent event stream with the bearer token (EventSource cannot send it); calls back per event. */
async function followEvents(path: string, onEvent: (event: string, data: unknown) => void): Promise<void> {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok || !response.body) throw problemOf(response.status, await response.json().catch(() => undefined));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) onEvent(event, JSON.parse(data));
    }
  }
}

async function download(job: Job, format: 'csv' | 'json'): Promise<void> {
  const response = await fetch(`/v1/backtest/jobs/${job.id}/report?format=${format}`, { headers: authHeaders() });
  if (!response.ok) throw problemOf(response.status, await response.json().catch(() => undefined));
  const url = URL.createObjectURL(await response.blob());
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = `backtest-${job.candidate.version}.${format}`;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function BacktestPage(_props: ConsolePageProps) {
  const [versions, setVersions] = useState<Array<{ version: string; inEffect: boolean }>>([]);
  const [source, setSource] = useState<'version' | 'yaml'>('version');
  const [version, setVersion] = useState('');
  const [yaml, setYaml] = useState('');
  const [since, setSince] = useState('');
  const [job, setJob] = useState<Job | undefined>();
  const [progress, setProgress] = useState<{ done: number; total: number } | undefined>();
  const [error, setError] = useState<ApiProblem | Error | undefined>();
  const [running, setRunning] = useState(false);

  useEffect(() => {
    api.GET('/v1/policies').then(ok).then(
      (list) => {
        const loaded = list.versions.map((v) => ({ version: v.version, inEffect: v.inEffect }));
        setVersions(loaded);
        setVersion(loaded.find((v) => !v.inEffect)?.version ?? loaded[0]?.version ?? '');
      },
      (problem: Error) => setError(problem),
    );
  }, []);

  async function run(event: Event) {
    event.preventDefault();
    setError(undefined);
    setJob(undefined);
    setProgress(undefined);
    setRunning(true);
    try {
      const body = { ...(source === 'version' ? { version } : { policy: yaml }), ...(since ? { since } : {}) };
      const started = ok(await api.POST('/v1/backtest/jobs', { body: body as never }));
      setProgress({ done: started.done, total: started.total });
      await followEvents(started.links.events ?? `/v1/backtest/jobs/${started.id}/events`, (name, data) => {
        if (name === 'progress') setProgress(data as { done: number; total: number });
        else setJob(data as Job);
      });
    } catch (problem) {
      setError(problem as Error);
    } finally {
      setRunning(false);
    }
  }

  const percent = progress ? (progress.total === 0 ? 100 : Math.floor((progress.done / progress.total) * 100)) : 0;
  return (
    <section>
      <h1>{t('backtest.title')}</h1>
      <p>{t('backtest.intro')}</p>
      <form class="card form" onSubmit={run}>
        <fieldset class="form">
          <legend>{t('backtest.candidate')}</legend>
          <div role="radiogroup" aria-label={t('backtest.candidate')} class="choice-row">
            <label class="choice">
              <input type="radio" name="source" checked={source === 'version'} onChange={() => setSource('version')} /> {t('backtest.loadedVersion')}
            </label>
            <label class="choice">
              <input type="radio" name="source" checked={source === 'yaml'} onChange={() => setSource('yaml')} /> {t('backtest.pasteYaml')}
            </label>
          </div>
          {source === 'version' ? (
            <label>
              {t('backtest.version')}
              <select value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>
                {versions.map((v) => (
                  <option key={v.version} value={v.version}>
                    {v.version}
                    {v.inEffect ? ` (${t('backtest.inEffect')})` : ''}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <label>
              {t('backtest.yaml')}
              <textarea rows={12} class="yaml-input" value={yaml} onInput={(e) => setYaml((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
            </label>
          )}
        </fieldset>
        <label>
          {t('backtest.since')}
          <input type="date" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
        </label>
        <button class="btn btn-primary" type="submit" disabled={running || (source === 'version' ? !version : !yaml.trim())}>
          {t('backtest.run')}
        </button>
      </form>

      {error && (
        <p class="alert alert-error" role="alert">
          {error.message}
        </p>
      )}

      {progress && (
        <div class="card">
          <label for="backtest-progress">{t('backtest.progress')}</label>
          <progress id="backtest-progress" max={100} value={percent} class="progress-bar" />
          <p role="status" aria-live="polite">
            {t('backtest.progressText', { done: progress.done, total: progress.total, percent })}
          </p>
        </div>
      )}

      {job && job.status === 'done' && job.totals && <BacktestResult job={job} onError={setError} />}
      {job && job.status === 'failed' && (
        <p class="alert alert-error" role="alert">
          {job.error?.message}
        </p>
      )}
    </section>
  );
}

/** A status or reason as people read it: the policy's title, with its id beside it for the program manager. */
function Named({ id, name }: { id: string | null | undefined; name: (id: string) => string }) {
  if (id == null) return <>—</>;
  const title = name(id);
  return title === id ? <>{id}</> : (
    <>
      {title} <code class="muted">{id}</code>
    </>
  );
}

function Chart({ title, rows, name }: { title: string; rows: Array<{ before?: string | null; after?: string | null; claims?: number }>; name: (id: string) => string }) {
  const max = Math.max(1, ...rows.map((r) => r.claims ?? 0));
  return (
    <figure class="card report-figure">
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      {rows.length === 0 ? (
        <p class="muted">{t('backtest.none')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('backtest.before')}</th>
              <th scope="col">{t('backtest.after')}</th>
              <th scope="col">{t('backtest.claims')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.before}→${row.after}`}>
                <td>
                  <Named id={row.before} name={name} />
                </td>
                <td>
                  {row.before === row.after ? (
                    <span class="muted">
                      <Named id={row.after} name={name} />
                    </span>
                  ) : (
                    <strong>
                      <Named id={row.after} name={name} />
                    </strong>
                  )}
                </td>
                <td>
                  <span class={row.before === row.after ? 'bar bar-same' : 'bar bar-changed'} aria-hidden="true" style={{ width: `${((row.claims ?? 0) / max) * 12}rem` }} />
                  {row.claims}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}

function BacktestResult({ job, onError }: { job: Job; onError: (error: Error) => void }) {
  const totals = job.totals!;
  const [offset, setOffset] = useState(0);
  const [changedOnly, setChangedOnly] = useState(false);
  const [page, setPage] = useState<Page | undefined>();
  useEffect(() => {
    api
      .GET('/v1/backtest/jobs/{id}/claims', { params: { path: { id: job.id }, query: { offset, limit: PAGE, ...(changedOnly ? { changed: true } : {}) } } })
      .then(ok)
      .then(setPage, onError);
  }, [job.id, offset, changedOnly]);
  const policy = usePolicy();
  const statusName = (status: string) => statusTextOf({ status }, policy).title;
  const reasonName = (code: string) => policy?.rejectionReasons.find((r) => r.code === code)?.description ?? code;
  const latency = job.latency;
  return (
    <>
      <h2>{t('backtest.totals')}</h2>
      <p>{t('backtest.totalsText', { claims: totals.claims ?? 0, changed: totals.changed ?? 0, unchanged: totals.unchanged ?? 0, skipped: totals.skipped ?? 0 })}</p>
      <div class="toolbar">
        <button class="btn" type="button" onClick={() => download(job, 'csv').catch(onError)}>
          {t('backtest.downloadCsv')}
        </button>
        <button class="btn" type="button" onClick={() => download(job, 'json').catch(onError)}>
          {t('backtest.downloadJson')}
        </button>
      </div>
      <Chart title={t('backtest.byStatus')} rows={totals.byStatus ?? []} name={statusName} />
      <Chart title={t('backtest.byReason')} rows={totals.byReason ?? []} name={reasonName} />
      {latency && (
        <div class="card">
          <h3>{t('backtest.latency')}</h3>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('backtest.policy')}</th>
                <th scope="col">{t('backtest.median')}</th>
                <th scope="col">{t('backtest.p90')}</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">{t('backtest.baseline')}</th>
                <td>{latency.baseline?.medianMs?.toFixed(2)} ms</td>
                <td>{latency.baseline?.p90Ms?.toFixed(2)} ms</td>
              </tr>
              <tr>
                <th scope="row">{t('backtest.candidatePolicy')}</th>
                <td>{latency.candidate?.medianMs?.toFixed(2)} ms</td>
                <td>{latency.candidate?.p90Ms?.toFixed(2)} ms</td>
              </tr>
            </tbody>
          </table>
          <p>{t('backtest.increase', { pct: `${(latency.increasePct ?? 0) >= 0 ? '+' : ''}${(latency.increasePct ?? 0).toFixed(1)}`, claims: latency.claims ?? 0 })}</p>
        </div>
      )}
      <h2>{t('backtest.perClaim')}</h2>
      <label>
        <input
          type="checkbox"
          checked={changedOnly}
          onChange={(e) => {
            setChangedOnly((e.target as HTMLInputElement).checked);
            setOffset(0);
          }}
        />{' '}
        {t('backtest.changedOnly')}
      </label>
      {page && (
        <>
          <table class="table">
            <caption class="visually-hidden">{t('backtest.perClaim')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('backtest.claim')}</th>
                <th scope="col">{t('backtest.before')}</th>
                <th scope="col">{t('backtest.after')}</th>
                <th scope="col">{t('backtest.changes')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((claim) => (
                <tr key={claim.claimId}>
                  <td>{claim.claimId}</td>
                  <td>
                    <Named id={claim.baseline?.status} name={statusName} />
                  </td>
                  <td>
                    <Named id={claim.candidate?.status} name={statusName} />
                  </td>
                  <td>{claim.changed ? (claim.changes ?? []).map((c) => c.summary).join('; ') : <span class="muted">{t('backtest.unchanged')}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label={t('backtest.pages')}>
            <button class="btn" type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              {t('backtest.previous')}
            </button>
            <span class="muted">{t('backtest.rows', { from: page.items.length ? offset + 1 : 0, to: offset + page.items.length })}</span>
            <button class="btn" type="button" disabled={!page.more} onClick={() => setOffset(offset + PAGE)}>
              {t('backtest.next')}
            </button>
          </nav>
        </>
      )}
    </>
  );
}
