/**
 * `/console/scenarios`: a scenario (picked from the bundled ones, pasted, uploaded or dropped) run
 * by the service and drawn as the timeline `cpor simulate --svg` draws, with its steps, refusals
 * and deadlines beside it, the picture in words, and the SVG to download.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../../api/client';
import type { BundledScenario as Bundled } from '../../api/contract';
import { t } from '../../i18n/i18n';
import type { ConsolePageProps } from './console-pages';
import { TimelinePicture } from './scenario-svg';

/** A run's step as the page reads it (the documented run result leaves `refused` and the deadlines open). */
interface Step {
  at: string;
  by: string;
  event: string;
  from: string | null;
  to: string | null;
  refused?: { code: string; message: string };
}

interface Run {
  name: string;
  policy: { id?: string; version?: string };
  passed: boolean | null;
  failures: string[];
  final: { status?: string | null; substatus?: string | null; reason?: string | null };
  timeline: Step[];
  deadlines: Array<{ name: string; startedAt: string; due: string; outcome: string }>;
}

/** `2026-03-16 15:00`: the API's instants in UTC, as the scenario file writes them. */
const utc = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
const state = (value: string | null) => value ?? '–';

/** The picture's description: what a screen reader reads for it. */
const describedBy = (svg: string) => new DOMParser().parseFromString(svg, 'image/svg+xml').getElementsByTagName('desc')[0]?.textContent ?? '';

export function ScenarioPage(_props: ConsolePageProps) {
  const [bundled, setBundled] = useState<Bundled[]>([]);
  const [picked, setPicked] = useState('');
  const [yaml, setYaml] = useState('');
  const [source, setSource] = useState('scenario.yaml');
  const [run, setRun] = useState<{ result: Run; svg: string | null }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const [download, setDownload] = useState<string>();

  useEffect(() => {
    api.GET('/v1/scenarios').then(
      (res) => setBundled(ok(res).scenarios),
      (err: Error) => setError(err.message),
    );
  }, []);

  useEffect(() => {
    if (!run?.svg) return setDownload(undefined);
    const url = URL.createObjectURL(new Blob([run.svg], { type: 'image/svg+xml' }));
    setDownload(url);
    return () => URL.revokeObjectURL(url);
  }, [run]);

  async function draw(text: string, file = source) {
    setBusy(true);
    setError(undefined);
    try {
      const res = ok(await api.POST('/v1/simulate/timeline', { body: { yaml: text, file } }));
      setRun({ result: res.result as unknown as Run, svg: res.svg ?? null });
    } catch (err) {
      setRun(undefined);
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function pick(file: string) {
    setPicked(file);
    const scenario = bundled.find((s) => s.file === file);
    if (!scenario) return;
    setYaml(scenario.yaml);
    setSource(file);
    void draw(scenario.yaml, file);
  }

  async function load(file: File | undefined) {
    if (!file) return;
    const text = await file.text();
    setPicked('');
    setYaml(text);
    setSource(file.name);
    void draw(text, file.name);
  }

  const result = run?.result;
  const refusals = result?.timeline.filter((s) => s.refused) ?? [];
  return (
    <section>
      <h1>{t('scenarios.title')}</h1>
      <p>{t('scenarios.intro')}</p>
      <div class="card">
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            void draw(yaml);
          }}
        >
          <div class="row">
            <div class="field grow">
              <label for="scenario-pick">{t('scenarios.bundled')}</label>
              <select id="scenario-pick" value={picked} onChange={(e) => pick((e.currentTarget as HTMLSelectElement).value)}>
                <option value="">{t('scenarios.choose')}</option>
                {bundled.map((s) => (
                  <option key={s.file} value={s.file}>
                    {s.file} — {s.name}
                  </option>
                ))}
              </select>
            </div>
            <div
              class={`dropzone grow${over ? ' dropzone-over' : ''}`}
              onDragOver={(e) => {
                e.preventDefault();
                setOver(true);
              }}
              onDragLeave={() => setOver(false)}
              onDrop={(e) => {
                e.preventDefault();
                setOver(false);
                void load(e.dataTransfer?.files[0]);
              }}
            >
              <p class="small">{t('scenarios.drop')}</p>
              <label class="btn btn-small">
                {t('scenarios.upload')}
                <input
                  class="visually-hidden"
                  type="file"
                  accept=".yaml,.yml,application/yaml,text/yaml"
                  onChange={(e) => void load((e.currentTarget as HTMLInputElement).files?.[0])}
                />
              </label>
            </div>
          </div>
          <div class="field">
            <label for="scenario-yaml">{t('scenarios.yaml')}</label>
            <textarea id="scenario-yaml" class="mono" rows={10} spellcheck={false} value={yaml} onInput={(e) => setYaml((e.currentTarget as HTMLTextAreaElement).value)} />
          </div>
          <div class="actions">
            <button type="submit" class="btn btn-primary" disabled={busy || yaml.trim() === ''}>
              {busy ? t('scenarios.running') : t('scenarios.draw')}
            </button>
          </div>
        </form>
      </div>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <section aria-labelledby="scenario-result-h">
          <div class="page-head">
            <h2 id="scenario-result-h">{result.name}</h2>
            {download && (
              <a class="btn" href={download} download={source.replace(/\.ya?ml$/i, '') + '.svg'}>
                {t('scenarios.download')}
              </a>
            )}
          </div>
          <p>
            {t('scenarios.final', {
              status: `${state(result.final.status ?? null)}${result.final.substatus ? ` (${result.final.substatus})` : ''}${result.final.reason ? `, ${result.final.reason}` : ''}`,
              policy: `${result.policy.id ?? ''} ${result.policy.version ?? ''}`,
            })}{' '}
            {result.passed === null ? (
              <span class="chip chip-muted">{t('scenarios.noExpectations')}</span>
            ) : result.passed ? (
              <span class="chip chip-ok">{t('scenarios.passed')}</span>
            ) : (
              <span class="chip chip-danger">{t('scenarios.failed')}</span>
            )}
          </p>
          {result.failures.length > 0 && (
            <ul class="alert alert-error">
              {result.failures.map((f) => (
                <li key={f}>{f}</li>
              ))}
            </ul>
          )}
          {run.svg ? (
            <figure class="card timeline-figure">
              <TimelinePicture svg={run.svg} onRefused={() => setError(t('scenarios.unsafe'))} />
              <figcaption>
                <details>
                  <summary>{t('scenarios.inWords')}</summary>
                  <p>{describedBy(run.svg)}</p>
                </details>
              </figcaption>
            </figure>
          ) : (
            <p class="muted">{t('scenarios.nothingToDraw')}</p>
          )}
          <div class="grid">
            <table class="table">
              <caption class="small-heading">{t('scenarios.steps')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('scenarios.at')}</th>
                  <th scope="col">{t('scenarios.by')}</th>
                  <th scope="col">{t('scenarios.event')}</th>
                  <th scope="col">{t('scenarios.move')}</th>
                </tr>
              </thead>
              <tbody>
                {result.timeline.map((s, i) => (
                  <tr key={i}>
                    <td class="nowrap">{utc(s.at)}</td>
                    <td>{s.by}</td>
                    <td>{s.event}</td>
                    <td>
                      {s.refused ? (
                        <span class="chip chip-danger">{t('scenarios.refusedCode', { code: s.refused.code })}</span>
                      ) : s.from === s.to ? (
                        state(s.to)
                      ) : (
                        `${state(s.from)} → ${state(s.to)}`
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div>
              <section class="card" aria-labelledby="scenario-refusals-h">
                <h3 id="scenario-refusals-h" class="small-heading">{t('scenarios.refusals')}</h3>
                {refusals.length === 0 ? (
                  <p class="muted">{t('scenarios.noRefusals')}</p>
                ) : (
                  <ul class="plain">
                    {refusals.map((s, i) => (
                      <li key={i} class="deadline">
                        <strong>{s.refused!.code}</strong>: {s.event} {t('scenarios.byAt', { by: s.by, at: utc(s.at) })}
                        <div class="small muted">{s.refused!.message}</div>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <section class="card" aria-labelledby="scenario-deadlines-h">
                <h3 id="scenario-deadlines-h" class="small-heading">{t('scenarios.deadlines')}</h3>
                {result.deadlines.length === 0 ? (
                  <p class="muted">{t('scenarios.noDeadlines')}</p>
                ) : (
                  <ul class="plain">
                    {result.deadlines.map((d, i) => (
                      <li key={i} class="deadline">
                        <strong>{d.name}</strong>{' '}
                        <span class={`chip ${d.outcome === 'met' ? 'chip-ok' : d.outcome === 'fired' ? 'chip-danger' : 'chip-info'}`}>{d.outcome}</span>
                        <div class="small muted">{t('scenarios.deadlineSpan', { started: utc(d.startedAt), due: utc(d.due) })}</div>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            </div>
          </div>
        </section>
      )}
    </section>
  );
}
