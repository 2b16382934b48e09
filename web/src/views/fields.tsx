/** Form pieces shared by the new-claim and edit forms: the claim's fieldsets, a labelled input with its API error, product choices. */
import type { PolicyView, Product } from '../api/contract';
import { t } from '../i18n/i18n';

const idOf = (path: string) => `f-${path.replace(/[^a-zA-Z0-9]+/g, '-')}`;

/** The API's message for `path` or for anything under it ($.products[0].workload under $.products). */
function errorAt(errors: Map<string, string>, path: string): string | undefined {
  if (errors.has(path)) return errors.get(path);
  for (const [p, message] of errors) if (p.startsWith(`${path}.`) || p.startsWith(`${path}[`)) return message;
  return undefined;
}

function Field(props: {
  label: string;
  path: string;
  value: string;
  onInput: (value: string) => void;
  errors: Map<string, string>;
  type?: 'text' | 'email';
  required?: boolean;
  autoComplete?: string;
}) {
  const id = idOf(props.path);
  const error = errorAt(props.errors, props.path);
  return (
    <div class={`field${error ? ' field-error' : ''}`}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.path}
        type={(props.type ?? 'text') as 'text'}
        value={props.value}
        required={props.required}
        autoComplete={props.autoComplete}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {error && (
        <p id={`${id}-error`} class="error-text">
          {error}
        </p>
      )}
    </div>
  );
}

/** The API's message for `path` itself, or (`under`) for anything under it that has no field of its own. */
function FieldError({ errors, path, under = false }: { errors: Map<string, string>; path: string; under?: boolean }) {
  const error = under ? errorAt(errors, path) : errors.get(path);
  return error ? (
    <p id={`${idOf(path)}-error`} class="error-text" role="alert">
      {error}
    </p>
  ) : null;
}

/** Products as the policy offers them: Microsoft 365 workloads as checkboxes, Business Applications with a subscription. */
function ProductPicker({ policy, value, onChange, errors }: { policy: PolicyView; value: Product[]; onChange: (p: Product[]) => void; errors: Map<string, string> }) {
  const has = (code: string) => value.some((p) => (p as { workload?: string }).workload === code || (p as { product?: string }).product === code);
  const toggle = (line: string, code: string, kind: 'workload' | 'product') => {
    if (has(code)) onChange(value.filter((p) => (p as Record<string, unknown>)[kind] !== code));
    else onChange([...value, (kind === 'workload' ? { line, workload: code } : { line, product: code, subscriptionId: '' }) as Product]);
  };
  const setSubscription = (code: string, subscriptionId: string) =>
    onChange(value.map((p) => ((p as { product?: string }).product === code ? ({ ...p, subscriptionId } as Product) : p)));
  return (
    <fieldset class="products" aria-describedby={errorAt(errors, '$.products') ? `${idOf('$.products')}-error` : undefined}>
      <legend>{t('new.products')}</legend>
      {policy.productLines.map((line) => (
        <div key={line.line} class="product-line">
          <h3 class="small-heading">{t(line.line === 'microsoft365' ? 'line.microsoft365' : 'line.businessApplications')}</h3>
          <div class="checks">
            {(line.workloads ?? []).map((code) => (
              <label key={code} class="check">
                <input type="checkbox" name={`product-${code}`} checked={has(code)} onChange={() => toggle(line.line, code, 'workload')} />
                {code}
              </label>
            ))}
            {(line.products ?? []).map((code) => (
              <span key={code} class="check-with-input">
                <label class="check">
                  <input type="checkbox" name={`product-${code}`} checked={has(code)} onChange={() => toggle(line.line, code, 'product')} />
                  {code}
                </label>
                {has(code) && (
                  <label class="inline">
                    {t('new.subscriptionId')}
                    <input
                      value={(value.find((p) => (p as { product?: string }).product === code) as { subscriptionId?: string } | undefined)?.subscriptionId ?? ''}
                      onInput={(e) => setSubscription(code, (e.currentTarget as HTMLInputElement).value)}
                    />
                  </label>
                )}
              </span>
            ))}
          </div>
        </div>
      ))}
      <FieldError errors={errors} path="$.products" under />
    </fieldset>
  );
}

/** A claim's fields as a form holds them while someone types (strings untrimmed, parts missing). */
export interface ClaimDraft {
  name?: string;
  mpnId?: string;
  customer?: { tenantId?: string; domain?: string; name?: string };
  activity?: string;
  products?: Product[];
  customerContact?: { name?: string; email?: string };
  partnerContact?: { name?: string; email?: string };
}

type DraftKey = keyof ClaimDraft;
const CONTACTS = ['customerContact', 'partnerContact'] as const;

/**
 * The claim's fields as one form section, for the new-claim form (every field) and the edit form
 * (`editable`: only the fields the caller may change now); each input named by its JSONPath so
 * the API's errors show at it.
 */
export function ClaimFieldsets(props: {
  policy: PolicyView;
  value: ClaimDraft;
  onChange: (next: ClaimDraft) => void;
  errors: Map<string, string>;
  /** The top-level fields shown; all when absent. */
  editable?: ReadonlySet<string>;
  /** Mark the fields a new claim needs as required. */
  required?: boolean;
}) {
  const { policy, value, errors, required } = props;
  const shown = (key: DraftKey) => !props.editable || props.editable.has(key);
  const set = (key: DraftKey, sub?: string) => (next: unknown) =>
    props.onChange({ ...value, [key]: sub ? { ...((value[key] as Record<string, unknown> | undefined) ?? {}), [sub]: next } : next });
  const activityId = idOf('$.activity');
  return (
    <>
      {shown('name') && <Field label={t('new.name')} path="$.name" value={value.name ?? ''} onInput={set('name')} errors={errors} />}
      {shown('mpnId') && <Field label={t('new.mpnId')} path="$.mpnId" value={value.mpnId ?? ''} onInput={set('mpnId')} errors={errors} required={required} />}
      {shown('customer') && (
        <fieldset>
          <legend>{t('new.customer')}</legend>
          <Field label={t('new.tenantId')} path="$.customer.tenantId" value={value.customer?.tenantId ?? ''} onInput={set('customer', 'tenantId')} errors={errors} required={required} />
          <Field label={t('new.domain')} path="$.customer.domain" value={value.customer?.domain ?? ''} onInput={set('customer', 'domain')} errors={errors} required={required} />
          <Field label={t('new.customerName')} path="$.customer.name" value={value.customer?.name ?? ''} onInput={set('customer', 'name')} errors={errors} required={required} />
          <FieldError errors={errors} path="$.customer" />
        </fieldset>
      )}
      {shown('activity') && (
        <div class="field">
          <label for={activityId}>{t('new.activity')}</label>
          <select id={activityId} value={value.activity ?? ''} onChange={(e) => set('activity')((e.currentTarget as HTMLSelectElement).value)}>
            {policy.activities.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
          <FieldError errors={errors} path="$.activity" />
        </div>
      )}
      {shown('products') && <ProductPicker policy={policy} value={value.products ?? []} onChange={set('products')} errors={errors} />}
      {CONTACTS.map(
        (key) =>
          shown(key) && (
            <fieldset key={key}>
              <legend>{key === 'customerContact' ? t('new.customerContact') : t('new.partnerContact')}</legend>
              <Field label={t('new.contactName')} path={`$.${key}.name`} value={value[key]?.name ?? ''} onInput={set(key, 'name')} errors={errors} required={required} />
              <Field label={t('new.contactEmail')} path={`$.${key}.email`} type="email" value={value[key]?.email ?? ''} onInput={set(key, 'email')} errors={errors} required={required} />
            </fieldset>
          ),
      )}
    </>
  );
}
