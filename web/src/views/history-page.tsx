/**
 * History: every change, comment and action with the actor's role, time, event, from and to,
 * and what changed (the entry's payload as a diff of fields), filterable; each entry marked
 * with whether it links to the one before it in the hash chain (prevHash = previous hash).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import type { HistoryEntry } from '../api/contract';
import { formatInstant } from '../deadlines';
import { eventName, t } from '../i18n/i18n';
import { onClaimChange } from '../live';
import { statusTextOf, usePolicy } from '../policy';
import { claimUrl, link } from '../router';

export function HistoryPage({ id }: { id: string }) {
  const [entries, setEntries] = useState<HistoryEntry[] | undefined>();
  const [missing, setMissing] = useState(false);
  const [filter, setFilter] = useState('');
  // Status titles in the UI language: the policy is loaded (once per language) again when it changes.
  const policy = usePolicy();
  /** A state as people read it (the policy's title); the raw id until the policy is in. */
  const stateTitle = (state: string | null | undefined) => (state ? statusTextOf({ status: state }, policy).title : '—');
  const load = () =>
    api.GET('/v1/claims/{id}/history', { params: { path: { id } } }).then((r) => {
      if (r.response.status === 404) setMissing(true);
      else setEntries(ok(r).items as HistoryEntry[]);
    });
  useEffect(() => {
    void load();
    return onClaimChange((c) => c.id === id && void load());
  }, [id]);

  if (missing) return <p>{t('notFoundText')}</p>;
  if (!entries) return <p>{t('loading')}</p>;
  const needle = filter.trim().toLowerCase();
  // The first entry starts the chain; each later one must name its predecessor's hash. The claim's
  // fields are replayed (create, then each edit's top-level fields) so an edit shows before → after.
  let fields: Record<string, unknown> = {};
  const rows = entries.map((entry, i) => {
    const payload = (entry.payload ?? {}) as Record<string, unknown>;
    const before = fields;
    if (entry.event === 'create') fields = { ...payload };
    if (entry.event === 'edit') fields = { ...fields, ...payload };
    return { entry, before: entry.event === 'edit' ? before : undefined, linked: i === 0 || entry.prevHash === entries[i - 1]!.hash };
  });
  const shown = rows.filter(({ entry }) => !needle || [entry.event, eventName(entry.event), entry.actor.role, entry.from ?? '', entry.to, stateTitle(entry.from), stateTitle(entry.to)].some((v) => String(v ?? '').toLowerCase().includes(needle)));
  return (
    <section>
      <div class="page-head">
        <h1>{t('history.title', { id })}</h1>
        <a class="btn" {...link(claimUrl(id))}>
          {t('back')}
        </a>
      </div>
      <div class="toolbar">
        <label class="grow">
          {t('history.filter')}
          <input type="search" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <table class="table history">
        <thead>
          <tr>
            <th scope="col">{t('history.seq')}</th>
            <th scope="col">{t('history.at')}</th>
            <th scope="col">{t('history.actor')}</th>
            <th scope="col">{t('history.event')}</th>
            <th scope="col">{t('history.fromTo')}</th>
            <th scope="col">{t('history.changes')}</th>
            <th scope="col">{t('history.chain')}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map(({ entry, before, linked }) => (
            <tr key={entry.seq}>
              <td>{entry.seq}</td>
              <td>
                <time dateTime={entry.at}>{formatInstant(entry.at)}</time>
              </td>
              <td>{entry.actor.role}</td>
              <td>{eventName(entry.event)}</td>
              <td>
                {stateTitle(entry.from)} → {stateTitle(entry.to)}
              </td>
              <td>
                <Changes payload={entry.payload} before={before} />
              </td>
              <td>{linked ? <span class="chip chip-ok">✓ {t('history.chainOk')}</span> : <span class="chip chip-danger">✗ {t('history.chainBroken')}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The entry's payload; for an edit, each changed field as before → after. */
function Changes({ payload, before }: { payload: unknown; before: Record<string, unknown> | undefined }) {
  if (!payload || typeof payload !== 'object' || Object.keys(payload).length === 0) return <span class="muted">—</span>;
  return (
    <dl class="diff">
      {Object.entries(payload as Record<string, unknown>).map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>
            {before && (
              <>
                <del>{compact(before[key])}</del> →{' '}
              </>
            )}
            <ins>{compact(value)}</ins>
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** A field's value for people: products by code, objects by their values. */
function compact(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (Array.isArray(value)) return value.map((v) => (v && typeof v === 'object' ? String((v as Record<string, unknown>).workload ?? (v as Record<string, unknown>).product ?? compact(v)) : String(v))).join(', ');
  if (typeof value === 'object') return Object.values(value as Record<string, unknown>).map(compact).join(' · ');
  return String(value);
}
