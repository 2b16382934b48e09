/**
 * One claim, for whoever may see it: what its status means and what happens next, the deadline
 * box, the PoE documents (drag-and-drop upload, download, inline preview for reviewers, remove
 * while editable), the live deficiency checklist, the fields editable now, the actions the
 * caller may take now (a refusal shown with its sentence), conflicts for reviewers, comments,
 * and the way to History. Reloads when the claim changes (live events).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiProblem, ok, problemOf } from '../api/client';
import type { ActionView, Claim, Comment } from '../api/contract';
import { DeadlineBox, formatInstant } from '../deadlines';
import { eventName, t } from '../i18n/i18n';
import { onClaimChange } from '../live';
import { productCodes, statusTextOf, usePolicy } from '../policy';
import { link } from '../router';
import type { Session } from '../session';
import { ActionPanel } from './actions';
import { customerName } from './claims-list';
import { EditClaim } from './edit-claim';
import { PoeSection } from './poe-section';

export function ClaimPage({ id, session }: { id: string; session: Session }) {
  const [claim, setClaim] = useState<Claim | undefined>();
  const [missing, setMissing] = useState(false);
  const policy = usePolicy();
  const [comments, setComments] = useState<Comment[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');

  const load = async () => {
    const result = await api.GET('/v1/claims/{id}', { params: { path: { id } } });
    if (result.response.status === 404) {
      setMissing(true);
      return;
    }
    setClaim(ok(result) as unknown as Claim);
    const list = await api.GET('/v1/claims/{id}/comments', { params: { path: { id } } });
    if (list.data) setComments(list.data.items as Comment[]);
  };

  useEffect(() => {
    load().catch((e: Error) => setError(e.message));
    return onClaimChange((change) => {
      if (change.id !== id) return;
      load().then(() => setNotice(t('claim.updated')), () => {});
    });
  }, [id]);

  const changed = (next: Claim) => {
    setClaim(next);
    setError('');
    void load().catch(() => {});
  };

  if (missing)
    return (
      <section>
        <h1>{t('notFound')}</h1>
        <p>{t('notFoundText')}</p>
        <p>
          <a {...link('/')}>{t('back')}</a>
        </p>
      </section>
    );
  if (!claim) return <p>{error || t('loading')}</p>;

  const text = statusTextOf(claim, policy);
  const actions: ActionView[] = claim.actions ?? [];
  const allowed = (event: string) => actions.some((a) => a.event === event && a.allowed);
  const deficiencies = claim.deficiencies;
  const conflicts = (claim.conflicts ?? []) as Array<{ claimId: string; partnerId: string; status: string; products: string[]; newestValidPoe: string | null }>;

  return (
    <article class="claim">
      <div class="page-head">
        <div>
          <h1>{t('claim.title', { customer: customerName(claim) })}</h1>
          <p class="muted small">
            {claim.id} · {productCodes(claim).join(', ')} · v{claim.version}
          </p>
        </div>
        <a class="btn" {...link(`/claims/${encodeURIComponent(claim.id)}/history`)}>
          {t('claim.history')}
        </a>
      </div>
      {notice && (
        <p class="alert alert-info" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <div class="grid">
        <div class="col-main">
          <section class="card status-card" aria-labelledby="status-h">
            <h2 id="status-h">
              <span class={`status status-${claim.status}`}>{text.title}</span>
            </h2>
            {text.meaning && <p>{text.meaning}</p>}
            {text.next && (
              <p>
                <strong>{t('claim.whatNext')}:</strong> {text.next}
              </p>
            )}
            {claim.reason && (
              <p>
                <strong>{t('claim.reason')}:</strong> {policy?.rejectionReasons.find((r) => r.code === claim.reason)?.description ?? claim.reason}
              </p>
            )}
          </section>
          <ActionPanel claim={claim} session={session} policy={policy} deficiencies={deficiencies} onChanged={changed} onError={setError} />
          <section class="card" aria-labelledby="deficiencies-h">
            <h2 id="deficiencies-h">{t('claim.deficiencies')}</h2>
            {deficiencies.length === 0 ? (
              <p class="ok-text">✓ {t('claim.noDeficiencies')}</p>
            ) : (
              <ul class="checklist">
                {deficiencies.map((d) => (
                  <li key={d.code}>
                    <span class="chip chip-warn">{d.code}</span> {d.description}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <PoeSection
            claim={claim}
            canUpload={allowed('uploadPoe')}
            canRemove={allowed('removePoe')}
            preview={session.kind === 'reviewer' || session.kind === 'internal'}
            onChanged={() => void load().catch((e: Error) => setError(e.message))}
            onError={setError}
          />
          {claim.editableFields && claim.editableFields.length > 0 && policy && (
            <EditClaim claim={claim} policy={policy} onChanged={changed} />
          )}
          {conflicts.length > 0 && (
            <section class="card" aria-labelledby="conflicts-h">
              <h2 id="conflicts-h">{t('claim.conflicts')}</h2>
              <div class="side-by-side">
                <div class="conflict this">
                  <h3 class="small-heading">{claim.id}</h3>
                  <p>{(claim.fields as { partnerId?: string }).partnerId}</p>
                  <p>{productCodes(claim).join(', ')}</p>
                </div>
                {conflicts.map((c) => (
                  <div class="conflict" key={c.claimId}>
                    <h3 class="small-heading">
                      <a {...link(`/claims/${encodeURIComponent(c.claimId)}`)}>{c.claimId}</a>
                    </h3>
                    <p>{c.partnerId}</p>
                    <p>{c.products.join(', ')}</p>
                    <p class="muted small">{c.status} · PoE {c.newestValidPoe ?? '—'}</p>
                  </div>
                ))}
              </div>
              {claim.settlement != null && (
                <p>
                  <strong>{t('claim.settlement')}:</strong> {describeSettlement(claim.settlement)}
                </p>
              )}
            </section>
          )}
          <Comments claim={claim} comments={comments} canComment={allowed('comment')} onAdded={() => void load()} onError={setError} />
        </div>
        <aside class="col-side">
          <DeadlineBox claim={claim} />
          <ClaimFacts claim={claim} />
        </aside>
      </div>
    </article>
  );
}

function describeSettlement(settlement: unknown): string {
  if (settlement && typeof settlement === 'object') {
    const s = settlement as Record<string, unknown>;
    return String(s.description ?? s.summary ?? JSON.stringify(s));
  }
  return String(settlement);
}

function ClaimFacts({ claim }: { claim: Claim }) {
  const f = claim.fields as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  return (
    <section class="card" aria-labelledby="facts-h">
      <h2 id="facts-h">{t('claim.fields')}</h2>
      <dl class="facts">
        <dt>{t('new.customer')}</dt>
        <dd>
          {f.customer?.name} ({f.customer?.domain})
        </dd>
        <dt>{t('new.tenantId')}</dt>
        <dd class="mono">{f.customer?.tenantId}</dd>
        <dt>{t('signin.partnerId')}</dt>
        <dd>{f.partnerId}</dd>
        <dt>{t('new.activity')}</dt>
        <dd>{f.activity}</dd>
        <dt>{t('new.products')}</dt>
        <dd>{productCodes(claim).join(', ') || '—'}</dd>
        <dt>{t('new.customerContact')}</dt>
        <dd>
          {f.customerContact?.name} &lt;{f.customerContact?.email}&gt;
        </dd>
        <dt>{t('new.partnerContact')}</dt>
        <dd>
          {f.partnerContact?.name} &lt;{f.partnerContact?.email}&gt;
        </dd>
      </dl>
    </section>
  );
}

function Comments(props: { claim: Claim; comments: Comment[]; canComment: boolean; onAdded: () => void; onError: (e: string) => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const send = async (event: Event) => {
    event.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    try {
      const result = await api.POST('/v1/claims/{id}/comments', {
        params: { path: { id: props.claim.id }, header: {} as never },
        body: { text: text.trim() },
      });
      if (!result.data) throw problemOf(result.response.status, result.error);
      setText('');
      props.onAdded();
    } catch (e) {
      props.onError(t('claim.refused', { detail: (e as ApiProblem).message }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="comments-h">
      <h2 id="comments-h">{t('claim.comments')}</h2>
      {props.comments.length === 0 && <p class="muted">{t('claim.noComments')}</p>}
      <ol class="comments">
        {props.comments.map((c) => (
          <li key={c.seq}>
            <div class="comment-meta">
              <strong>{String((c.author as { role?: string } | undefined)?.role ?? '')}</strong> · {eventName(c.event)} ·{' '}
              <time dateTime={c.at}>{formatInstant(c.at)}</time>
            </div>
            <p class="comment-text">{c.text}</p>
          </li>
        ))}
      </ol>
      {props.canComment && (
        <form onSubmit={send} class="form">
          <label for="comment-text">{t('claim.addComment')}</label>
          <textarea id="comment-text" rows={3} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
          <button type="submit" class="btn" disabled={busy || !text.trim()}>
            {t('claim.send')}
          </button>
        </form>
      )}
    </section>
  );
}
