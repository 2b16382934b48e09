/** Sign-in: the development form (only when the service offers it) and OpenID Connect. */
import { useEffect, useState } from 'preact/hooks';
import { setCredentials } from '../api/client';
import type { AuthConfig, PolicyView, RoleKind } from '../api/contract';
import { language, t } from '../i18n/i18n';
import { loadPolicy } from '../policy';
import { navigate } from '../router';
import { devSignIn, finishOidcSignIn, startOidcSignIn, type Session } from '../session';

export function SignIn({ config, onSignedIn }: { config: AuthConfig; onSignedIn: (s: Session) => void }) {
  const [policy, setPolicy] = useState<PolicyView | undefined>();
  const [role, setRole] = useState('');
  const [partnerId, setPartnerId] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!config.devSignIn) return;
    loadPolicy(language()).then((p) => {
      setPolicy(p);
      setRole((r) => r || p.roles[0]?.name || '');
    }, (e: Error) => setError(e.message));
  }, [config.devSignIn]);

  const kind: RoleKind | undefined = policy?.roles.find((r) => r.name === role)?.kind;

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!kind) return;
    setBusy(true);
    setError('');
    try {
      const session = await devSignIn(
        {
          role,
          ...(kind === 'partner' ? { partnerId: partnerId.trim() } : {}),
          ...(kind === 'customer' ? { tenantId: tenantId.trim() } : {}),
          ...(name.trim() ? { name: name.trim() } : {}),
        },
        kind,
      );
      onSignedIn(session);
    } catch (e) {
      setError(t('signin.failed', { detail: (e as Error).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="signin">
      <h1>{t('signin.title')}</h1>
      {error && (
        <p class="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {config.oidc && (
        <div class="card">
          <button type="button" class="btn btn-primary" onClick={() => void startOidcSignIn(config.oidc!).catch((e: Error) => setError(t('signin.failed', { detail: e.message })))}>
            {t('signin.oidc')}
          </button>
        </div>
      )}
      {config.devSignIn && (
        <form class="card form" onSubmit={submit}>
          <h2>{t('signin.dev')}</h2>
          <p class="muted">{t('signin.devHelp')}</p>
          <label>
            {t('signin.role')}
            <select value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)} required>
              {policy?.roles.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.name} ({r.kind})
                </option>
              ))}
            </select>
          </label>
          {kind === 'partner' && (
            <label>
              {t('signin.partnerId')}
              <input value={partnerId} onInput={(e) => setPartnerId((e.currentTarget as HTMLInputElement).value)} inputMode="numeric" pattern="[0-9]{5,12}" required />
            </label>
          )}
          {kind === 'customer' && (
            <label>
              {t('signin.tenantId')}
              <input value={tenantId} onInput={(e) => setTenantId((e.currentTarget as HTMLInputElement).value)} required />
            </label>
          )}
          <label>
            {t('signin.name')}
            <input value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} autoComplete="name" />
          </label>
          <button type="submit" class="btn btn-primary" disabled={busy || !kind}>
            {t('signin.submit')}
          </button>
        </form>
      )}
      {!config.devSignIn && !config.oidc && <p>{t('signin.none')}</p>}
    </section>
  );
}

export function OidcCallback({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState('');
  useEffect(() => {
    finishOidcSignIn(async (role, token) => {
      setCredentials(token, () => {});
      return (await loadPolicy(language())).roles.find((r) => r.name === role)?.kind;
    })
      .then((session) => {
        onSignedIn(session);
        navigate('/', true);
      })
      .catch((e: Error) => setError(t('signin.failed', { detail: e.message })));
  }, []);
  return error ? (
    <p class="alert alert-error" role="alert">
      {error}
    </p>
  ) : (
    <p>{t('loading')}</p>
  );
}
