/**
 * The actions the caller may take on a claim now (from the claim's `actions`), each with the
 * form its event needs: request information (the detected deficiencies preselected), reject
 * (the reasons the policy lets this role use), dispute (days left), deny consent, resolve a
 * dispute; the rest with an optional comment. A refusal is shown with the API's sentence.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { productCodes } from '../policy';
import { authHeaders, ifMatch, problemOf } from '../api/client';
import type { Claim, Deficiency, PolicyView } from '../api/contract';
import type { components } from '../api/schema';
import { eventName, t } from '../i18n/i18n';
import type { Session } from '../session';

/** The outcomes of resolveDispute, as the API's schema enumerates them. */
const DISPUTE_OUTCOMES: ReadonlyArray<components['schemas']['ResolveDisputePayload']['outcome']> = ['upheld', 'approved', 'partnerActionRequired'];

/** Events with their own place on the page (forms elsewhere), not buttons here. */
const ELSEWHERE = new Set(['edit', 'uploadPoe', 'removePoe', 'comment', 'create', 'sendForAssessment']);

export function ActionPanel(props: {
  claim: Claim;
  session: Session;
  policy: PolicyView | undefined;
  deficiencies: Deficiency[];
  onChanged: (claim: Claim) => void;
  onError: (message: string) => void;
}) {
  const { claim } = props;
  const actions = (claim.actions ?? []).filter((a) => a.allowed && !ELSEWHERE.has(a.event));
  const [open, setOpen] = useState<string | undefined>();
  const [refusal, setRefusal] = useState('');

  const send = async (event: string, body: Record<string, unknown>) => {
    setRefusal('');
    // Through fetch: the action route's body is one payload per event (the typed client sees a union).
    const res = await fetch(`/v1/claims/${encodeURIComponent(claim.id)}/actions/${encodeURIComponent(event)}`, {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json', 'If-Match': ifMatch(claim.version) },
      body: JSON.stringify(body),
    });
    const data: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const problem = problemOf(res.status, data);
      setRefusal(t('claim.refused', { detail: problem.message }));
      return;
    }
    setOpen(undefined);
    props.onChanged(data as Claim);
  };

  const dispute = claim.disputeWindow;
  return (
    <section class="card" aria-labelledby="actions-h">
      <h2 id="actions-h">{t('claim.actions')}</h2>
      {refusal && (
        <p class="alert alert-error" role="alert">
          {refusal}
        </p>
      )}
      {actions.length === 0 && <p class="muted">{t('claim.noActions')}</p>}
      {dispute?.open && actions.some((a) => a.event === 'dispute') && !open && <p class="chip chip-info">{t('claim.disputeDays', { days: dispute.daysLeft })}</p>}
      <div class="actions">
        {actions.map((a) => (
          <button
            key={a.event}
            type="button"
            class={`btn ${a.event === 'reject' || a.event === 'denyConsent' || a.event === 'withdraw' ? 'btn-danger' : 'btn-primary'}`}
            aria-expanded={open === a.event}
            onClick={() => setOpen(open === a.event ? undefined : a.event)}
          >
            {eventName(a.event)}
          </button>
        ))}
      </div>
      {open && <ActionForm event={open} {...props} onSend={send} onCancel={() => setOpen(undefined)} />}
    </section>
  );
}

function ActionForm(props: {
  event: string;
  claim: Claim;
  session: Session;
  policy: PolicyView | undefined;
  deficiencies: Deficiency[];
  onSend: (event: string, body: Record<string, unknown>) => Promise<void>;
  onCancel: () => void;
}) {
  const { event, policy } = props;
  const [comment, setComment] = useState('');
  const [chosen, setChosen] = useState<string[]>(() => props.deficiencies.map((d) => d.code));
  const reasons = (policy?.rejectionReasons ?? []).filter((r) => r.roles.includes(props.session.role));
  const [reason, setReason] = useState(reasons[0]?.code ?? '');
  const [program, setProgram] = useState('');
  const [details, setDetails] = useState('');
  const [outcome, setOutcome] = useState('upheld');
  const [busy, setBusy] = useState(false);
  const allCodes = policy?.deficiencyCodes ?? props.deficiencies;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const withComment = comment.trim() ? { comment: comment.trim() } : {};
    let body: Record<string, unknown> = withComment;
    if (event === 'requestInfo') body = { deficiencies: chosen, comment: comment.trim() };
    else if (event === 'reject') body = { reason, ...withComment };
    else if (event === 'dispute') body = { program: program.trim(), details: details.trim() };
    else if (event === 'resolveDispute') body = { outcome, comment: comment.trim() };
    await props.onSend(event, body);
    setBusy(false);
  };

  const id = `action-${event}`;
  return (
    <form class="form action-form" onSubmit={submit} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`} class="small-heading">
        {eventName(event)}
      </h3>
      {event === 'requestInfo' && (
        <fieldset>
          <legend>{t('claim.requestedDeficiencies')}</legend>
          {allCodes.map((d) => (
            <label key={d.code} class="check">
              <input
                type="checkbox"
                name="deficiency"
                value={d.code}
                checked={chosen.includes(d.code)}
                onChange={() => setChosen((c) => (c.includes(d.code) ? c.filter((x) => x !== d.code) : [...c, d.code]))}
              />
              <span>
                <strong>{d.code}</strong> — {d.description}
              </span>
            </label>
          ))}
        </fieldset>
      )}
      {event === 'reject' && (
        <div class="field">
          <label for={`${id}-reason`}>{t('claim.reason')}</label>
          <select id={`${id}-reason`} value={reason} onChange={(e) => setReason((e.currentTarget as HTMLSelectElement).value)}>
            {reasons.map((r) => (
              <option key={r.code} value={r.code}>
                {r.description}
              </option>
            ))}
          </select>
        </div>
      )}
      {event === 'dispute' && (
        // The reference's dispute fields: those the claim holds shown as sent, the others asked for.
        <>
          {props.claim.disputeWindow?.open && <p class="chip chip-info">{t('claim.disputeDays', { days: props.claim.disputeWindow.daysLeft })}</p>}
          <dl class="facts">
            {(policy?.disputeFields ?? [])
              .filter((f) => f.source === 'claim')
              .map((f) => (
                <Fragment key={f.field}>
                  <dt>{f.label}</dt>
                  <dd>{claimValue(props.claim, f.field)}</dd>
                </Fragment>
              ))}
          </dl>
          <div class="field">
            <label for={`${id}-program`}>{policy?.disputeFields.find((f) => f.field === 'program')?.label ?? t('claim.program')}</label>
            <input id={`${id}-program`} list={`${id}-programs`} value={program} required onInput={(e) => setProgram((e.currentTarget as HTMLInputElement).value)} />
            <datalist id={`${id}-programs`}>
              {(policy?.incentivePrograms ?? []).map((p) => (
                <option key={p.code} value={p.name} />
              ))}
            </datalist>
          </div>
          <div class="field">
            <label for={`${id}-details`}>{policy?.disputeFields.find((f) => f.field === 'details')?.label ?? t('claim.details')}</label>
            <textarea id={`${id}-details`} rows={3} required value={details} onInput={(e) => setDetails((e.currentTarget as HTMLTextAreaElement).value)} />
          </div>
        </>
      )}
      {event === 'resolveDispute' && (
        <div class="field">
          <label for={`${id}-outcome`}>{t('claim.outcome')}</label>
          <select id={`${id}-outcome`} value={outcome} onChange={(e) => setOutcome((e.currentTarget as HTMLSelectElement).value)}>
            {DISPUTE_OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </div>
      )}
      {event !== 'dispute' && (
        <div class="field">
          <label for={`${id}-comment`}>{t('claim.comment')}</label>
          <textarea id={`${id}-comment`} rows={3} value={comment} onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
      )}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {eventName(event)}
        </button>
        <button type="button" class="btn btn-quiet" onClick={props.onCancel}>
          {t('back')}
        </button>
      </div>
    </form>
  );
}

/** A dispute field the claim holds, as the dispute will carry it. */
function claimValue(claim: Claim, field: string): string {
  if (field === 'claimId') return claim.id;
  if (field === 'products') return productCodes(claim).join(', ');
  if (field === 'tenantId') return claim.fields.customer?.tenantId ?? '—';
  const value = (claim.fields as Record<string, unknown>)[field];
  return value === undefined ? '—' : String(value);
}
