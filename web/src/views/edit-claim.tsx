/** The claim's fields that the caller may change now (the claim's editableFields), saved with PATCH and If-Match. */
import { useState } from 'preact/hooks';
import { ApiProblem, authHeaders, ifMatch, problemOf } from '../api/client';
import type { Claim, PolicyView } from '../api/contract';
import { t } from '../i18n/i18n';
import { ClaimFieldsets, type ClaimDraft } from './fields';

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function EditClaim({ claim, policy, onChanged }: { claim: Claim; policy: PolicyView; onChanged: (c: Claim) => void }) {
  const editable = new Set(claim.editableFields ?? []);
  const original = claim.fields as Fields;
  const [fields, setFields] = useState<Fields>(() => structuredClone(original));
  const [errors, setErrors] = useState(new Map<string, string>());
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    const changes: Fields = {};
    for (const key of editable) if (JSON.stringify(fields[key]) !== JSON.stringify(original[key]) && fields[key] !== undefined) changes[key] = fields[key];
    if (Object.keys(changes).length === 0) return;
    setBusy(true);
    setErrors(new Map());
    setMessage('');
    try {
      const res = await fetch(`/v1/claims/${encodeURIComponent(claim.id)}`, {
        method: 'PATCH',
        headers: { ...authHeaders(), 'Content-Type': 'application/json', 'If-Match': ifMatch(claim.version) },
        body: JSON.stringify(changes),
      });
      const data: unknown = await res.json().catch(() => undefined);
      if (!res.ok) throw problemOf(res.status, data);
      setMessage(t('claim.saved'));
      onChanged(data as Claim);
    } catch (err) {
      if (err instanceof ApiProblem) setErrors(err.fieldErrors());
      setMessage(t('claim.refused', { detail: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="edit-h">
      <h2 id="edit-h">{t('claim.edit')}</h2>
      {message && (
        <p class="alert alert-info" role="status">
          {message}
        </p>
      )}
      <form class="form" onSubmit={save} noValidate>
        <ClaimFieldsets policy={policy} value={fields as ClaimDraft} onChange={setFields} errors={errors} editable={editable} />
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {t('claim.save')}
        </button>
      </form>
    </section>
  );
}
