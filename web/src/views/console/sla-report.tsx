/** `/console/sla`: each deadline's SLA (GET /v1/reports/sla) as a table and a bar chart in SVG, with CSV and JSON downloads. */
import { useEffect, useState } from 'preact/hooks';
import { authHeaders, call, problemOf } from '../../api/client';
import type { SlaReport, SlaRow } from '../../api/contract';
import { deadlineName, t } from '../../i18n/i18n';


/** Fetches a report with the user's token and saves it as a file (a link cannot carry the bearer token). */
export async function downloadReport(path: string, accept: 'text/csv' | 'application/json', filename: string): Promise<void> {
  const res = await fetch(path, { headers: { ...authHeaders(), Accept: accept } });
  if (!res.ok) throw problemOf(res.status, await res.json().catch(() => undefined));
  const url = URL.createObjectURL(await res.blob());
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  URL.revokeObjectURL(url);
}

/** A query string of the filters that are set. */
export function queryOf(filters: Record<string, string>): string {
  const set = Object.entries(filters).filter(([, value]) => value !== '');
  return set.length ? `?${new URLSearchParams(set)}` : '';
}

const percent = (share: number | null) => (share === null ? '—' : `${Math.round(share * 100)} %`);
const days = (value: number | null) => (value === null ? '—' : String(Math.round(value * 10) / 10));

export function SlaReportPage() {
  const [filters, setFilters] = useState({ from: '', to: '', productLine: '', groupBy: '' });
  const [report, setReport] = useState<SlaReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const query = queryOf(filters);
  useEffect(() => {
    setError(undefined);
    call<SlaReport>('GET', `/v1/reports/sla${query}`).then(setReport, (e: Error) => setError(e.message));
  }, [query]);
  const set = (key: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section>
      <div class="page-head">
        <h1>{t('console.sla.title')}</h1>
        <div class="actions">
          <button type="button" class="btn" onClick={() => void downloadReport(`/v1/reports/sla${query}`, 'text/csv', 'sla.csv').catch((e: Error) => setError(e.message))}>
            {t('console.downloadCsv')}
          </button>
          <button type="button" class="btn" onClick={() => void downloadReport(`/v1/reports/sla${query}`, 'application/json', 'sla.json').catch((e: Error) => setError(e.message))}>
            {t('console.downloadJson')}
          </button>
        </div>
      </div>
      <p>{t('console.sla.intro')}</p>
      <form class="toolbar" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('console.from')}
          <input type="date" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          {t('console.to')}
          <input type="date" value={filters.to} onChange={set('to')} />
        </label>
        <label>
          {t('console.sla.productLine')}
          <select value={filters.productLine} onChange={set('productLine')}>
            <option value="">{t('console.all')}</option>
            <option value="microsoft365">Microsoft 365</option>
            <option value="businessApplications">Business Applications</option>
          </select>
        </label>
        <label>
          {t('console.sla.groupBy')}
          <select value={filters.groupBy} onChange={set('groupBy')}>
            <option value="">{t('console.sla.noGroups')}</option>
            <option value="week">{t('console.sla.byWeek')}</option>
            <option value="productLine">{t('console.sla.byProductLine')}</option>
          </select>
        </label>
      </form>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {!report ? (
        <p>{t('loading')}</p>
      ) : (
        <>
          <SlaChart rows={report.deadlines} />
          <SlaTable caption={t('console.sla.allRuns')} rows={report.deadlines} />
          {report.groups.map((group) => (
            <SlaTable key={group.group} caption={groupCaption(filters.groupBy, group.group)} rows={group.deadlines} />
          ))}
        </>
      )}
    </section>
  );
}

function groupCaption(groupBy: string, group: string): string {
  if (groupBy === 'week') return t('console.sla.weekOf', { date: group });
  return group === 'microsoft365' ? 'Microsoft 365' : group === 'businessApplications' ? 'Business Applications' : group;
}

function SlaTable({ caption, rows }: { caption: string; rows: SlaRow[] }) {
  return (
    <table class="table report-table">
      <caption class="report-caption">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t('console.sla.deadline')}</th>
          <th scope="col">{t('console.sla.started')}</th>
          <th scope="col">{t('console.sla.met')}</th>
          <th scope="col">{t('console.sla.fired')}</th>
          <th scope="col">{t('console.sla.paused')}</th>
          <th scope="col">{t('console.sla.open')}</th>
          <th scope="col">{t('console.sla.shareMet')}</th>
          <th scope="col">{t('console.sla.median')}</th>
          <th scope="col">{t('console.sla.p90')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.deadline}>
            <th scope="row">{deadlineName(row.deadline)}</th>
            <td>{row.started}</td>
            <td>{row.met}</td>
            <td>{row.fired}</td>
            <td>{row.paused}</td>
            <td>{row.open}</td>
            <td>{percent(row.shareMet)}</td>
            <td>{days(row.medianBusinessDays)}</td>
            <td>{days(row.p90BusinessDays)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const COLORS = { met: '#1b6e3a', fired: '#a4261d', open: '#5b6675' } as const;

/** Per deadline one bar of its runs: met, fired, still open. The figure has a text summary; the table beside it holds the numbers. */
function SlaChart({ rows }: { rows: SlaRow[] }) {
  const shown = rows.filter((row) => row.started > 0);
  const most = Math.max(1, ...shown.map((row) => row.started));
  const labelWidth = 250;
  const barWidth = 420;
  const height = 28;
  const summary = shown.map((row) => t('console.sla.barText', { deadline: deadlineName(row.deadline), met: row.met, fired: row.fired, open: row.open })).join('; ');
  return (
    <figure class="card report-figure">
      <figcaption class="small-heading">{t('console.sla.chartTitle')}</figcaption>
      <svg role="img" aria-label={summary || t('console.sla.noRuns')} width={labelWidth + barWidth + 60} height={Math.max(1, shown.length) * height + 30} class="report-chart">
        {shown.map((row, i) => {
          const y = i * height;
          const scale = (n: number) => (n / most) * barWidth;
          let x = labelWidth;
          const parts = (['met', 'fired', 'open'] as const).map((kind) => {
            const w = scale(row[kind]);
            const rect = <rect key={kind} x={x} y={y + 4} width={w} height={height - 10} fill={COLORS[kind]} />;
            x += w;
            return rect;
          });
          return (
            <g key={row.deadline}>
              <text x={labelWidth - 8} y={y + height / 2 + 4} text-anchor="end" font-size="13" fill="#1f2933">
                {deadlineName(row.deadline)}
              </text>
              {parts}
              <text x={x + 6} y={y + height / 2 + 4} font-size="12" fill="#1f2933">
                {row.started}
              </text>
            </g>
          );
        })}
        <g transform={`translate(${labelWidth}, ${Math.max(1, shown.length) * height + 8})`} font-size="12" fill="#1f2933">
          {(['met', 'fired', 'open'] as const).map((kind, i) => (
            <g key={kind} transform={`translate(${i * 110}, 0)`}>
              <rect width="12" height="12" fill={COLORS[kind]} />
              <text x="18" y="11">
                {t(`console.sla.${kind}`)}
              </text>
            </g>
          ))}
        </g>
      </svg>
    </figure>
  );
}
