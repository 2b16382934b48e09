/** `/console/assessment`: claims sent for incentive assessment (GET /v1/reports/assessment) with date filters and a CSV export. */
import { useEffect, useState } from 'preact/hooks';
import { call } from '../../api/client';
import type { AssessmentRow } from '../../api/contract';
import { formatInstant } from '../../deadlines';
import { t } from '../../i18n/i18n';
import { claimUrl, link } from '../../router';
import { downloadReport, queryOf } from './sla-report';

export function AssessmentReportPage() {
  const [filters, setFilters] = useState({ from: '', to: '' });
  const [rows, setRows] = useState<AssessmentRow[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const query = queryOf(filters);
  useEffect(() => {
    setError(undefined);
    call<{ items: AssessmentRow[] }>('GET', `/v1/reports/assessment${query}`).then((r) => setRows(r.items), (e: Error) => setError(e.message));
  }, [query]);
  const set = (key: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section>
      <div class="page-head">
        <h1>{t('console.assessment.title')}</h1>
        <button
          type="button"
          class="btn"
          onClick={() => void downloadReport(`/v1/reports/assessment${query}`, 'text/csv', 'assessment.csv').catch((e: Error) => setError(e.message))}
        >
          {t('console.downloadCsv')}
        </button>
      </div>
      <p>{t('console.assessment.intro')}</p>
      <form class="toolbar" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('console.from')}
          <input type="date" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          {t('console.to')}
          <input type="date" value={filters.to} onChange={set('to')} />
        </label>
      </form>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {!rows ? (
        <p>{t('loading')}</p>
      ) : rows.length === 0 ? (
        <p class="muted">{t('console.assessment.none')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('console.claim')}</th>
              <th scope="col">{t('console.assessment.customer')}</th>
              <th scope="col">{t('console.assessment.partner')}</th>
              <th scope="col">{t('console.assessment.products')}</th>
              <th scope="col">{t('console.assessment.programs')}</th>
              <th scope="col">{t('console.assessment.sentAt')}</th>
              <th scope="col">{t('console.policy')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.claimId}>
                <td class="mono">
                  <a {...link(claimUrl(row.claimId))}>{row.claimId.slice(0, 8)}</a>
                </td>
                <td>
                  {row.customerName}
                  <div class="small muted mono">{row.tenantId}</div>
                </td>
                <td>{row.partnerId}</td>
                <td>{[...row.workloads, ...row.businessApplications.map((b) => `${b.product} (${b.subscriptionId})`)].join(', ')}</td>
                <td>
                  {row.programs.map((p) => (
                    <span key={p.code} class={`chip ${p.eligible ? 'chip-ok' : 'chip-muted'}`} title={p.summary}>
                      {p.code}: {p.eligible ? t('console.assessment.eligible') : t('console.assessment.notEligible')}
                    </span>
                  ))}
                </td>
                <td>
                  <time dateTime={row.sentForAssessmentAt}>{formatInstant(row.sentForAssessmentAt)}</time>
                </td>
                <td>{row.policy.version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
