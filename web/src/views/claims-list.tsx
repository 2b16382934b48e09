/**
 * My claims (partners) / claims on my tenant (customers): status, customer, products, the
 * running deadline with its time left and marks; filter by status and search on the server
 * (`status`, `q`), sort the page, keyset paging through the API's cursor. Live changes reload the page.
 */
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import type { Claim, PolicyView } from '../api/contract';
import { currentDeadline, DeadlineSummary, hoursLeftOf } from '../deadlines';
import { t } from '../i18n/i18n';
import { onClaimChange } from '../live';
import { productCodes, statusTextOf, usePolicy } from '../policy';
import { claimUrl, link } from '../router';
import type { Session } from '../session';

const PAGE = 25;
type Sort = 'timeLeft' | 'created' | 'customer';

export function ClaimsList({ session }: { session: Session }) {
  const policy = usePolicy();
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [sort, setSort] = useState<Sort>('timeLeft');
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<{ items: Claim[]; nextCursor: string | null } | undefined>();
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  const cursor = cursors.at(-1);

  useEffect(() => onClaimChange(() => setReload((n) => n + 1)), []);
  // The search goes to the server (GET /v1/claims?q=) once typing pauses; a new search starts at page 1.
  useEffect(() => {
    const timer = setTimeout(() => {
      const text = search.trim();
      if (text === q) return;
      setQ(text);
      setCursors([undefined]);
    }, 250);
    return () => clearTimeout(timer);
  }, [search, q]);
  // The page's one call that matters: sent as soon as the list is in the DOM (a layout effect),
  // not after the browser's next paint as a plain effect would (preact runs those after a frame).
  useLayoutEffect(() => {
    let current = true;
    api
      .GET('/v1/claims', {
        params: { query: { limit: PAGE, ...(status ? { status: status as never } : {}), ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } },
      })
      .then((r) => ok(r))
      .then((data) => current && setPage(data as unknown as { items: Claim[]; nextCursor: string | null }))
      .catch((e: Error) => current && setError(e.message));
    return () => void (current = false);
  }, [status, q, cursor, reload]);

  const items = [...(page?.items ?? [])].sort((a, b) => {
      if (sort === 'created') return b.createdAt.localeCompare(a.createdAt);
      if (sort === 'customer') return customerName(a).localeCompare(customerName(b));
      return hoursLeftOf(currentDeadline(a)) - hoursLeftOf(currentDeadline(b));
    });

  const statuses = policy?.statuses.map((s) => s.status).filter((s) => !s.includes('.')) ?? [];
  return (
    <section>
      <div class="page-head">
        <h1>{session.kind === 'customer' ? t('list.tenantTitle') : t('list.title')}</h1>
        {session.kind === 'partner' && (
          <a class="btn btn-primary" {...link('/claims/new')}>
            {t('nav.new')}
          </a>
        )}
      </div>
      <div class="toolbar" role="search">
        <label>
          {t('list.filterStatus')}
          <select
            value={status}
            onChange={(e) => {
              setStatus((e.currentTarget as HTMLSelectElement).value);
              setCursors([undefined]);
            }}
          >
            <option value="">{t('list.allStatuses')}</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {statusTextOf({ status: s as Claim['status'] }, policy).title}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          {t('list.search')}
          <input type="search" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          {t('list.sort')}
          <select value={sort} onChange={(e) => setSort((e.currentTarget as HTMLSelectElement).value as Sort)}>
            <option value="timeLeft">{t('sort.timeLeft')}</option>
            <option value="created">{t('sort.created')}</option>
            <option value="customer">{t('sort.customer')}</option>
          </select>
        </label>
      </div>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {!page && !error && <p>{t('loading')}</p>}
      {page && items.length === 0 && <p class="muted">{t('list.empty')}</p>}
      {items.length > 0 && <ClaimTable claims={items} policy={policy} />}
      <nav class="pager" aria-label={t('list.page', { n: cursors.length })}>
        <span class="muted">{t('list.page', { n: cursors.length })}</span>
        {cursors.length > 1 && (
          <button type="button" class="btn" onClick={() => setCursors([undefined])}>
            {t('list.first')}
          </button>
        )}
        {page?.nextCursor && (
          <button type="button" class="btn" onClick={() => setCursors((c) => [...c, page.nextCursor!])}>
            {t('list.next')}
          </button>
        )}
      </nav>
    </section>
  );
}

export const customerName = (claim: Claim) =>
  (claim.fields as { customer?: { name?: string } }).customer?.name ?? claim.id;

function ClaimTable({ claims, policy, caption }: { claims: Claim[]; policy: PolicyView | undefined; caption?: string }) {
  return (
    <table class="table">
      {caption && <caption class="visually-hidden">{caption}</caption>}
      <thead>
        <tr>
          <th scope="col">{t('col.customer')}</th>
          <th scope="col">{t('col.status')}</th>
          <th scope="col">{t('col.products')}</th>
          <th scope="col">{t('col.deadline')}</th>
        </tr>
      </thead>
      <tbody>
        {claims.map((claim) => (
          <tr key={claim.id}>
            <td>
              <a {...link(claimUrl(claim.id))}>{customerName(claim)}</a>
              <div class="muted small">{(claim.fields as { customer?: { domain?: string } }).customer?.domain}</div>
            </td>
            <td>
              <span class={`status status-${claim.status}`}>{statusTextOf(claim, policy).title}</span>
            </td>
            <td>{productCodes(claim).join(', ')}</td>
            <td>
              <DeadlineSummary claim={claim} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
