/** The claim's fields that the caller may change now (the claim's editableFields), saved with PATCH and If-Match. */
import { useState } from 'preact/hooks';
import { ApiProblem, authHeaders, ifMatch, problemOf } from '../api/client';
import type { Claim, PolicyView, Product } from '../api/contract';
import { t } from '../i18n/i18n';
import { Field, FieldError, ProductPicker } from './fields';

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function EditClaim({ claim, policy, onChanged }: { claim: Claim; policy: PolicyView; onChanged: (c: Claim) => void }) {
  const editable = new Set(claim.editableFields ?? []);
  const original = claim.fields as Fields;
  const [fields, setFields] = useState<Fields>(() => structuredClone(original));
  const [errors, setErrors] = useState(new Map<string, string>());
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);

  const setPath = (key: string, sub?: string) => (value: unknown) =>
    setFields((f) => ({ ...f, [key]: sub ? { ...(f[key] ?? {}), [sub]: value } : value }));

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
        {editable.has('name') && <Field label={t('new.name')} path="$.name" value={fields.name ?? ''} onInput={setPath('name')} errors={errors} />}
        {editable.has('mpnId') && <Field label={t('new.mpnId')} path="$.mpnId" value={fields.mpnId ?? ''} onInput={setPath('mpnId')} errors={errors} />}
        {editable.has('activity') && (
          <div class="field">
            <label for="edit-activity">{t('new.activity')}</label>
            <select id="edit-activity" value={fields.activity} onChange={(e) => setPath('activity')((e.currentTarget as HTMLSelectElement).value)}>
              {policy.activities.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
            <FieldError errors={errors} path="$.activity" />
          </div>
        )}
        {editable.has('customer') && (
          <fieldset>
            <legend>{t('new.customer')}</legend>
            <Field label={t('new.tenantId')} path="$.customer.tenantId" value={fields.customer?.tenantId ?? ''} onInput={setPath('customer', 'tenantId')} errors={errors} />
            <Field label={t('new.domain')} path="$.customer.domain" value={fields.customer?.domain ?? ''} onInput={setPath('customer', 'domain')} errors={errors} />
            <Field label={t('new.customerName')} path="$.customer.name" value={fields.customer?.name ?? ''} onInput={setPath('customer', 'name')} errors={errors} />
          </fieldset>
        )}
        {editable.has('products') && (
          <ProductPicker policy={policy} value={(fields.products ?? []) as Product[]} onChange={(p) => setPath('products')(p)} errors={errors} />
        )}
        {(['customerContact', 'partnerContact'] as const).map(
          (key) =>
            editable.has(key) && (
              <fieldset key={key}>
                <legend>{key === 'customerContact' ? t('new.customerContact') : t('new.partnerContact')}</legend>
                <Field label={t('new.contactName')} path={`$.${key}.name`} value={fields[key]?.name ?? ''} onInput={setPath(key, 'name')} errors={errors} />
                <Field label={t('new.contactEmail')} path={`$.${key}.email`} type="email" value={fields[key]?.email ?? ''} onInput={setPath(key, 'email')} errors={errors} />
              </fieldset>
            ),
        )}
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {t('claim.save')}
        </button>
      </form>
    </section>
  );
}
