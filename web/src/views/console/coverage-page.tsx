/**
 * `/console/coverage`: the bundled scenarios (and pasted ones) run under the policy in effect, a
 * loaded version or a draft, with the rule coverage `cpor test --coverage` reports: each rule and
 * condition made true and false, each deadline fired, met and paused, each refusal kind, and the
 * totals against a threshold.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../../api/client';
import type { paths } from '../../api/schema';
import { t } from '../../i18n/i18n';
import type { ConsolePageProps } from './console-pages';

type CoverageRun = paths['/v1/simulate/coverage']['post']['responses'][200]['content']['application/json'];
type PolicyCoverage = CoverageRun['coverage']['policies'][number];
type Against = 'inEffect' | 'version' | 'draft';

/** A count: the number, or 0 marked as never reached. */
function Count({ n }: { n: number | null | undefined }) {
  if (n === null || n === undefined) return <span class="muted">–</span>;
  if (n > 0) return <>{n}</>;
  return (
    <span class="chip chip-danger">
      0 <span aria-hidden="true">✗</span>
      <span class="visually-hidden">{t('coverage.never')}</span>
    </span>
  );
}

/** Pasted text of several scenario files, separated by `---` lines. */
const splitScenarios = (text: string) =>
  text
    .split(/^---[ \t]*$/m)
    .map((s) => s.trim())
    .filter(Boolean);

export function CoveragePage(_props: ConsolePageProps) {
  const [versions, setVersions] = useState<Array<{ version: string; inEffect: boolean }>>([]);
  const [against, setAgainst] = useState<Against>('inEffect');
  const [version, setVersion] = useState('');
  const [draft, setDraft] = useState('');
  const [bundled, setBundled] = useState(true);
  const [pasted, setPasted] = useState('');
  const [threshold, setThreshold] = useState('100');
  const [report, setReport] = useState<CoverageRun>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.GET('/v1/policies').then(
      (res) => {
        const list = ok(res).versions.map((v) => ({ version: v.version, inEffect: v.inEffect }));
        setVersions(list);
        setVersion(list.find((v) => v.inEffect)?.version ?? list[0]?.version ?? '');
      },
      () => {},
    );
  }, []);

  async function runCoverage(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const scenarios = splitScenarios(pasted);
      const limit = Number(threshold);
      const body = {
        bundled,
        ...(scenarios.length ? { scenarios } : {}),
        ...(threshold.trim() !== '' && Number.isFinite(limit) ? { threshold: limit } : {}),
        ...(against === 'version' && version ? { version } : {}),
        ...(against === 'draft' ? { policy: draft } : {}),
      };
      setReport(ok(await api.POST('/v1/simulate/coverage', { body })));
    } catch (err) {
      setReport(undefined);
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h1>{t('coverage.title')}</h1>
      <p>{t('coverage.intro')}</p>
      <form class="card form" onSubmit={(e) => void runCoverage(e)}>
        <fieldset>
          <legend>{t('coverage.against')}</legend>
          <label class="check">
            <input type="radio" name="against" checked={against === 'inEffect'} onChange={() => setAgainst('inEffect')} />
            {t('coverage.inEffect')}
          </label>
          <div class="check-with-input">
            <label class="check">
              <input type="radio" name="against" checked={against === 'version'} onChange={() => setAgainst('version')} />
              {t('coverage.version')}
            </label>
            <select aria-label={t('coverage.versionPick')} value={version} disabled={against !== 'version'} onChange={(e) => setVersion((e.currentTarget as HTMLSelectElement).value)}>
              {versions.map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                  {v.inEffect ? ` (${t('coverage.current')})` : ''}
                </option>
              ))}
            </select>
          </div>
          <label class="check">
            <input type="radio" name="against" checked={against === 'draft'} onChange={() => setAgainst('draft')} />
            {t('coverage.draft')}
          </label>
          {against === 'draft' && (
            <div class="field">
              <label for="coverage-draft">{t('coverage.draftYaml')}</label>
              <textarea id="coverage-draft" class="mono" rows={10} spellcheck={false} value={draft} onInput={(e) => setDraft((e.currentTarget as HTMLTextAreaElement).value)} />
            </div>
          )}
        </fieldset>
        <fieldset>
          <legend>{t('coverage.scenarios')}</legend>
          <label class="check">
            <input type="checkbox" checked={bundled} onChange={() => setBundled(!bundled)} />
            {t('coverage.bundled')}
          </label>
          <div class="field">
            <label for="coverage-pasted">{t('coverage.pasted')}</label>
            <textarea id="coverage-pasted" class="mono" rows={4} spellcheck={false} value={pasted} onInput={(e) => setPasted((e.currentTarget as HTMLTextAreaElement).value)} />
          </div>
        </fieldset>
        <div class="row">
          <div class="field">
            <label for="coverage-threshold">{t('coverage.threshold')}</label>
            <input id="coverage-threshold" type="number" min={0} max={100} step={0.1} value={threshold} onInput={(e) => setThreshold((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? t('coverage.running') : t('coverage.run')}
          </button>
        </div>
      </form>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {report && <CoverageReport report={report} />}
    </section>
  );
}

function CoverageReport({ report }: { report: CoverageRun }) {
  const { coverage } = report;
  const threshold = coverage.threshold;
  return (
    <section aria-labelledby="coverage-result-h">
      <h2 id="coverage-result-h">{t('coverage.result')}</h2>
      <div class="card" role="status">
        <p class="deadline-left">
          {t('coverage.total', { percent: coverage.summary.percent ?? 0, covered: coverage.summary.covered ?? 0, total: coverage.summary.total ?? 0 })}{' '}
          {threshold !== null &&
            (coverage.under.length === 0 ? (
              <span class="chip chip-ok">{t('coverage.meets', { threshold })}</span>
            ) : (
              <span class="chip chip-danger">{t('coverage.under', { threshold })}</span>
            ))}
        </p>
        <p>{t('coverage.verdicts', { passed: report.passed, failed: report.failed, skipped: report.skipped })}</p>
        {report.failures.length > 0 && (
          <ul class="alert alert-error">
            {report.failures.map((f) => (
              <li key={f.file}>
                {f.file}: {(f.failures ?? []).join('; ')}
              </li>
            ))}
          </ul>
        )}
      </div>
      {coverage.policies.map((p) => (
        <PolicyReport key={`${p.policy?.id}-${p.policy?.version}`} coverage={p} />
      ))}
    </section>
  );
}

function PolicyReport({ coverage }: { coverage: PolicyCoverage }) {
  const s = coverage.summary ?? {};
  const name = `${coverage.policy?.id ?? ''} ${coverage.policy?.version ?? ''}`;
  const part = (c: { covered?: number; total?: number } | undefined) => `${c?.covered ?? 0}/${c?.total ?? 0}`;
  return (
    <section class="card" aria-label={t('coverage.policyTitle', { policy: name })}>
      <h3>{t('coverage.policyTitle', { policy: name })}</h3>
      <p>
        {t('coverage.policySummary', { percent: s.percent ?? 0, scenarios: coverage.scenarios ?? 0 })}{' '}
        <span class="muted">
          {t('coverage.sections', { rules: part(s.rules), conditions: part(s.conditions), deadlines: part(s.deadlines), refusals: part(s.refusals) })}
        </span>
      </p>
      <table class="table">
        <caption class="small-heading">{t('coverage.rules')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('coverage.rule')}</th>
            <th scope="col">{t('coverage.true')}</th>
            <th scope="col">{t('coverage.false')}</th>
          </tr>
        </thead>
        <tbody>
          {(coverage.rules ?? []).flatMap((rule) => [
            <tr key={rule.path} class="coverage-rule">
              <th scope="row">
                <span class="small muted">{rule.section}</span> <strong>{rule.code}</strong>
              </th>
              <td>
                <Count n={rule.true} />
              </td>
              <td>
                <Count n={rule.false} />
              </td>
            </tr>,
            ...(rule.conditions ?? []).map((c) => (
              <tr key={c.path}>
                <td class="mono">
                  <span class="muted">{c.path?.slice((rule.path ?? '').length)}</span> {c.text}
                </td>
                <td>
                  <Count n={c.true} />
                </td>
                <td>
                  <Count n={c.false} />
                </td>
              </tr>
            )),
          ])}
        </tbody>
      </table>
      <div class="side-by-side">
        <div>
          <table class="table">
            <caption class="small-heading">{t('coverage.deadlines')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('coverage.deadline')}</th>
                <th scope="col">{t('coverage.fired')}</th>
                <th scope="col">{t('coverage.met')}</th>
                <th scope="col">{t('coverage.paused')}</th>
              </tr>
            </thead>
            <tbody>
              {(coverage.deadlines ?? []).map((d) => (
                <tr key={d.name}>
                  <th scope="row">{d.name}</th>
                  <td>
                    <Count n={d.fired} />
                  </td>
                  <td>
                    <Count n={d.met} />
                  </td>
                  <td>
                    <Count n={d.paused} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div>
          <table class="table">
            <caption class="small-heading">{t('coverage.refusals')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('coverage.refusal')}</th>
                <th scope="col">{t('coverage.occurred')}</th>
              </tr>
            </thead>
            <tbody>
              {(coverage.refusals ?? []).map((r) => (
                <tr key={r.code}>
                  <th scope="row">{r.code}</th>
                  <td>{r.reachable ? <Count n={r.occurred} /> : <span class="small muted">{t('coverage.cannotOccur', { note: r.note ?? '' })}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
