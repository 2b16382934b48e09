/** `/console/shadow`: what shadow policy versions would have decided differently (GET /v1/reports/shadow), with links to the decisions. */
import { useEffect, useState } from 'preact/hooks';
import { call } from '../../api/client';
import type { ShadowVersion } from '../../api/contract';
import { formatInstant } from '../../deadlines';
import { eventName, t } from '../../i18n/i18n';
import { link } from '../../router';
import { show } from './decisions-log';
import { downloadReport } from './sla-report';

const KINDS = ['state', 'refusal', 'deficiencies', 'deadlines', 'eligibility'] as const;

export function ShadowReportPage() {
  const [versions, setVersions] = useState<ShadowVersion[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    call<{ versions: ShadowVersion[] }>('GET', '/v1/reports/shadow').then((r) => setVersions(r.versions), (e: Error) => setError(e.message));
  }, []);
  return (
    <section>
      <div class="page-head">
        <h1>{t('console.shadow.title')}</h1>
        <div class="actions">
          <a class="btn" {...link('/console/decisions?kind=shadow')}>
            {t('console.shadow.allDecisions')}
          </a>
          <button type="button" class="btn" onClick={() => void downloadReport('/v1/reports/shadow', 'text/csv', 'shadow.csv').catch((e: Error) => setError(e.message))}>
            {t('console.downloadCsv')}
          </button>
        </div>
      </div>
      <p>{t('console.shadow.intro')}</p>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {!versions ? (
        <p>{t('loading')}</p>
      ) : versions.length === 0 ? (
        <p class="muted">{t('console.shadow.none')}</p>
      ) : (
        versions.map((v) => (
          <article key={v.policy.version} class="card">
            <h2>{t('console.shadow.version', { id: v.policy.id, version: v.policy.version })}</h2>
            <p>{t('console.shadow.counts', { transitions: v.transitions, claims: v.claims })}</p>
            <table class="table report-table">
              <caption class="visually-hidden">{t('console.shadow.byKind')}</caption>
              <thead>
                <tr>
                  {KINDS.map((kind) => (
                    <th key={kind} scope="col">
                      {t(`console.shadow.kind.${kind}`)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <tr>
                  {KINDS.map((kind) => (
                    <td key={kind}>{v.differences[kind]}</td>
                  ))}
                </tr>
              </tbody>
            </table>
            <h3 class="small-heading">{t('console.shadow.examples')}</h3>
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('console.decisions.at')}</th>
                  <th scope="col">{t('console.claim')}</th>
                  <th scope="col">{t('console.shadow.event')}</th>
                  <th scope="col">{t('console.shadow.difference')}</th>
                  <th scope="col">{t('console.shadow.live', { version: v.examples[0]?.livePolicy.version ?? '' })}</th>
                  <th scope="col">{t('console.shadow.candidate')}</th>
                </tr>
              </thead>
              <tbody>
                {v.examples.map((x, i) => (
                  <tr key={i}>
                    <td>
                      <time dateTime={x.at}>{formatInstant(x.at)}</time>
                    </td>
                    <td class="mono nowrap-id">
                      {x.claimId ? <a {...link(`/console/decisions/${encodeURIComponent(x.claimId)}?kind=shadow`)}>{x.claimId.slice(0, 8)}</a> : '—'}
                    </td>
                    <td>{eventName(x.event)}</td>
                    <td>{t(`console.shadow.kind.${x.kind}`)}</td>
                    <td>{show(x.live)}</td>
                    <td>{show(x.shadow)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </article>
        ))
      )}
    </section>
  );
}
