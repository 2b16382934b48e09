/**
 * `/console/decisions` (and `/console/decisions/<claimId>`): the decision log across claims or of
 * one claim (GET /v1/decisions), filtered by kind, each decision's explanation expandable, paged,
 * with a CSV export of what is shown.
 */
import { useEffect, useState } from 'preact/hooks';
import { call } from '../../api/client';
import type { Decision, DecisionPage as Page } from '../../api/contract';
import { formatInstant } from '../../deadlines';
import { eventName, t } from '../../i18n/i18n';
import { claimUrl, link, navigate, useLocation } from '../../router';
import { downloadReport, queryOf } from './sla-report';

const KINDS = ['transition', 'evaluation', 'shadow'] as const;

export function DecisionsLogPage({ rest }: { rest: string[] }) {
  const claimId = rest[0] ?? '';
  const path = useLocation();
  const [kind, setKind] = useState(() => new URLSearchParams(location.search).get('kind') ?? '');
  const [claimInput, setClaimInput] = useState(claimId);
  // A link to another claim's or kind's log reuses this page: follow the address.
  useEffect(() => {
    setKind(new URLSearchParams(location.search).get('kind') ?? '');
    setClaimInput(claimId);
  }, [path]);
  const [items, setItems] = useState<Decision[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const query = queryOf({ kind, claimId, limit: '50' });
  useEffect(() => {
    setError(undefined);
    setItems(undefined);
    call<Page>('GET', `/v1/decisions${query}`).then(
      (page) => {
        setItems(page.items);
        setNext(page.next);
      },
      (e: Error) => setError(e.message),
    );
  }, [query]);
  const more = () =>
    next &&
    call<Page>('GET', next).then(
      (page) => {
        setItems([...(items ?? []), ...page.items]);
        setNext(page.next);
      },
      (e: Error) => setError(e.message),
    );

  return (
    <section>
      <div class="page-head">
        <h1>{claimId ? t('console.decisions.titleClaim', { id: claimId }) : t('console.decisions.title')}</h1>
        <button
          type="button"
          class="btn"
          onClick={() => void downloadReport(`/v1/decisions${queryOf({ kind, claimId, limit: '1000' })}`, 'text/csv', 'decisions.csv').catch((e: Error) => setError(e.message))}
        >
          {t('console.downloadCsv')}
        </button>
      </div>
      <p>{t('console.decisions.intro')}</p>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/console/decisions${claimInput.trim() ? `/${encodeURIComponent(claimInput.trim())}` : ''}${kind ? `?kind=${kind}` : ''}`);
        }}
      >
        <label>
          {t('console.decisions.kind')}
          <select value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">{t('console.all')}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`console.decisions.kind.${k}`)}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          {t('console.claim')}
          <input type="search" value={claimInput} placeholder={t('console.decisions.anyClaim')} onInput={(e) => setClaimInput((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="btn">
          {t('console.decisions.show')}
        </button>
      </form>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {!items ? (
        <p>{t('loading')}</p>
      ) : items.length === 0 ? (
        <p class="muted">{t('console.decisions.none')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('console.decisions.at')}</th>
              <th scope="col">{t('console.claim')}</th>
              <th scope="col">{t('console.decisions.kind')}</th>
              <th scope="col">{t('console.decisions.author')}</th>
              <th scope="col">{t('console.policy')}</th>
              <th scope="col">{t('console.decisions.decided')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d, i) => (
              <tr key={`${d.inputDigest}-${i}`}>
                <td>
                  <time dateTime={d.at}>{formatInstant(d.at)}</time>
                </td>
                <td class="mono nowrap-id">{d.claimId ? <a {...link(claimUrl(d.claimId))}>{d.claimId.slice(0, 8)}</a> : '—'}</td>
                <td>
                  <span class={`chip ${d.kind === 'shadow' ? 'chip-warn' : d.kind === 'evaluation' ? 'chip-info' : 'chip-muted'}`}>{t(`console.decisions.kind.${d.kind}`)}</span>
                </td>
                <td>{d.author?.role ?? '—'}</td>
                <td>{d.policy.version}</td>
                <td>
                  <details>
                    <summary>{summaryOf(d)}</summary>
                    <Explanation decision={d} />
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <div class="pager">
          <button type="button" class="btn" onClick={() => void more()}>
            {t('console.decisions.more')}
          </button>
        </div>
      )}
    </section>
  );
}

/** One line: the event and what came of it. */
function summaryOf(d: Decision): string {
  const r = d.result;
  if (d.kind === 'shadow') {
    const kinds = ((r.differences as Array<{ kind: string }> | undefined) ?? []).map((x) => t(`console.shadow.kind.${x.kind as 'state'}`));
    return `${eventName(String(r.event))}: ${kinds.join(', ')}`;
  }
  if (d.kind === 'transition') {
    const refused = r.refused as { code: string } | undefined;
    return `${eventName(String(r.event))}: ${refused ? t('console.decisions.refused', { code: refused.code }) : `${String(r.from ?? '—')} → ${String(r.to ?? '—')}`}`;
  }
  return `${t('console.decisions.kind.evaluation')}: ${String(r.status ?? '')}`;
}

/** The explanation: the rules that fired and the result, and for a shadow record what each version decided. */
function Explanation({ decision }: { decision: Decision }) {
  const differences = decision.kind === 'shadow' ? ((decision.result.differences as Array<{ kind: string; live: unknown; shadow: unknown }> | undefined) ?? []) : [];
  return (
    <div class="small">
      {differences.length > 0 && (
        <dl class="diff">
          {differences.map((x) => (
            <div key={x.kind}>
              <dt>{t(`console.shadow.kind.${x.kind as 'state'}`)}</dt>
              <dd>
                <del>{show(x.live)}</del> → <ins>{show(x.shadow)}</ins>
              </dd>
            </div>
          ))}
        </dl>
      )}
      <p>
        <strong>{t('console.decisions.rulesFired')}</strong> {decision.rulesFired.length ? decision.rulesFired.join(', ') : '—'}
      </p>
      <p class="mono">{t('console.decisions.digest')} {decision.inputDigest}</p>
      <details>
        <summary>{t('console.decisions.fullResult')}</summary>
        <pre class="mono wrap">
          {JSON.stringify(decision.result, null, 2)}
        </pre>
      </details>
    </div>
  );
}

export const show = (value: unknown) => (value === null || value === undefined ? '—' : Array.isArray(value) ? value.join(', ') || '—' : String(value));
