/** New claim: choices from the policy in effect; the API's errors shown at the field their JSONPath names. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiProblem, problemOf } from '../api/client';
import type { ClaimFields, PolicyView, Product } from '../api/contract';
import { language, t } from '../i18n/i18n';
import { loadPolicy } from '../policy';
import { claimUrl, navigate } from '../router';
import type { Session } from '../session';
import { Field, FieldError, ProductPicker } from './fields';

export function NewClaim({ session }: { session: Session }) {
  const [policy, setPolicy] = useState<PolicyView | undefined>();
  const [form, setForm] = useState({
    name: '',
    mpnId: session.partnerId ?? '',
    tenantId: '',
    domain: '',
    customerName: '',
    activity: '',
    customerContactName: '',
    customerContactEmail: '',
    partnerContactName: session.name,
    partnerContactEmail: '',
  });
  const [products, setProducts] = useState<Product[]>([]);
  const [errors, setErrors] = useState(new Map<string, string>());
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => void loadPolicy(language()).then((p) => {
    setPolicy(p);
    setForm((f) => ({ ...f, activity: f.activity || p.activities[0] || '' }));
  }, (e: Error) => setProblem(e.message)), []);

  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors(new Map());
    setProblem('');
    const body = {
      ...(form.name.trim() ? { name: form.name.trim() } : {}),
      ...(session.partnerId ? { partnerId: session.partnerId } : {}),
      mpnId: form.mpnId.trim(),
      customer: { tenantId: form.tenantId.trim(), domain: form.domain.trim(), name: form.customerName.trim() },
      activity: form.activity,
      products,
      customerContact: { name: form.customerContactName.trim(), email: form.customerContactEmail.trim() },
      partnerContact: { name: form.partnerContactName.trim(), email: form.partnerContactEmail.trim() },
    } as ClaimFields;
    try {
      const result = await api.POST('/v1/claims', { body });
      if (!result.data) throw problemOf(result.response.status, result.error);
      navigate(claimUrl(result.data.id));
    } catch (e) {
      if (e instanceof ApiProblem) {
        setErrors(e.fieldErrors());
        setProblem(e.problem.errors?.length ? t('new.fixErrors') : e.problem.detail);
      } else setProblem((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (!policy) return <p>{problem || t('loading')}</p>;
  return (
    <section>
      <h1>{t('new.title')}</h1>
      {problem && (
        <p class="alert alert-error" role="alert">
          {problem}
        </p>
      )}
      <form class="form card" onSubmit={submit} noValidate>
        <Field label={t('new.name')} path="$.name" value={form.name} onInput={set('name')} errors={errors} />
        <Field label={t('new.mpnId')} path="$.mpnId" value={form.mpnId} onInput={set('mpnId')} errors={errors} required />
        <fieldset>
          <legend>{t('new.customer')}</legend>
          <Field label={t('new.tenantId')} path="$.customer.tenantId" value={form.tenantId} onInput={set('tenantId')} errors={errors} required />
          <Field label={t('new.domain')} path="$.customer.domain" value={form.domain} onInput={set('domain')} errors={errors} required />
          <Field label={t('new.customerName')} path="$.customer.name" value={form.customerName} onInput={set('customerName')} errors={errors} required />
          <FieldError errors={errors} path="$.customer" />
        </fieldset>
        <div class="field">
          <label for="f-activity">{t('new.activity')}</label>
          <select id="f-activity" value={form.activity} onChange={(e) => set('activity')((e.currentTarget as HTMLSelectElement).value)}>
            {policy.activities.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
          <FieldError errors={errors} path="$.activity" />
        </div>
        <ProductPicker policy={policy} value={products} onChange={setProducts} errors={errors} />
        <fieldset>
          <legend>{t('new.customerContact')}</legend>
          <Field label={t('new.contactName')} path="$.customerContact.name" value={form.customerContactName} onInput={set('customerContactName')} errors={errors} required />
          <Field label={t('new.contactEmail')} path="$.customerContact.email" type="email" value={form.customerContactEmail} onInput={set('customerContactEmail')} errors={errors} required />
        </fieldset>
        <fieldset>
          <legend>{t('new.partnerContact')}</legend>
          <Field label={t('new.contactName')} path="$.partnerContact.name" value={form.partnerContactName} onInput={set('partnerContactName')} errors={errors} required />
          <Field label={t('new.contactEmail')} path="$.partnerContact.email" type="email" value={form.partnerContactEmail} onInput={set('partnerContactEmail')} errors={errors} required />
        </fieldset>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {t('new.create')}
        </button>
      </form>
    </section>
  );
}
