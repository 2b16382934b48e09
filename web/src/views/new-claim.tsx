/** New claim: choices from the policy in effect; the API's errors shown at the field their JSONPath names. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiProblem, problemOf } from '../api/client';
import type { ClaimFields, PolicyView } from '../api/contract';
import { language, t } from '../i18n/i18n';
import { loadPolicy } from '../policy';
import { claimUrl, navigate } from '../router';
import type { Session } from '../session';
import { ClaimFieldsets, type ClaimDraft } from './fields';

export function NewClaim({ session }: { session: Session }) {
  const [policy, setPolicy] = useState<PolicyView | undefined>();
  const [form, setForm] = useState<ClaimDraft>({
    mpnId: session.partnerId ?? '',
    partnerContact: { name: session.name },
  });
  const [errors, setErrors] = useState(new Map<string, string>());
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);

  const lang = language();
  useEffect(() => void loadPolicy(lang).then((p) => {
    setPolicy(p);
    setForm((f) => ({ ...f, activity: f.activity || p.activities[0] || '' }));
  }, (e: Error) => setProblem(e.message)), [lang]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors(new Map());
    setProblem('');
    const text = (value: string | undefined) => (value ?? '').trim();
    const body = {
      ...(text(form.name) ? { name: text(form.name) } : {}),
      ...(session.partnerId ? { partnerId: session.partnerId } : {}),
      mpnId: text(form.mpnId),
      customer: { tenantId: text(form.customer?.tenantId), domain: text(form.customer?.domain), name: text(form.customer?.name) },
      activity: form.activity ?? '',
      products: form.products ?? [],
      customerContact: { name: text(form.customerContact?.name), email: text(form.customerContact?.email) },
      partnerContact: { name: text(form.partnerContact?.name), email: text(form.partnerContact?.email) },
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
        <ClaimFieldsets policy={policy} value={form} onChange={setForm} errors={errors} required />
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {t('new.create')}
        </button>
      </form>
    </section>
  );
}
