/** The dashboard: sign-in, then each role's views, over the public API with the user's token. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ok, setCredentials, setLanguage } from './api/client';
import type { AuthConfig } from './api/contract';
import { initialLanguage, LANGUAGES, t, useLanguage, type Language } from './i18n/i18n';
import { onLiveStatus, startLive, stopLive } from './live';
import { link, navigate, parseRoute, useLocation } from './router';
import { loadSession, saveSession, type Session } from './session';
import { ClaimPage } from './views/claim-page';
import { ClaimsList } from './views/claims-list';
import { DemoClock } from './views/demo-clock';
import { HistoryPage } from './views/history-page';
import { NewClaim } from './views/new-claim';
import { ConsoleHome } from './views/console/console-home';
import { CONSOLE_PAGES } from './views/console/console-pages';
import { Queues } from './views/queues';
import { OidcCallback, SignIn } from './views/sign-in';
import './app.css';

function App() {
  const [lang, setLang] = useState<Language>(() => {
    const first = initialLanguage();
    useLanguage(first, false);
    setLanguage(first);
    return first;
  });
  const [session, setSession] = useState<Session | undefined>(() => loadSession());
  const [config, setConfig] = useState<AuthConfig | undefined>();
  const [live, setLive] = useState(false);
  useEffect(() => onLiveStatus(setLive), []);
  const path = useLocation();
  const route = parseRoute(path.split('?')[0]!);

  useEffect(() => {
    api.GET('/v1/auth/config').then((r) => setConfig(ok(r)), () => setConfig({ devSignIn: false, demo: false, oidc: null }));
  }, []);

  const signOut = () => {
    saveSession(undefined);
    setSession(undefined);
    navigate('/signin', true);
  };
  setCredentials(session?.token, signOut);

  useEffect(() => {
    if (!session) return;
    startLive();
    return stopLive;
  }, [session?.token]);

  useEffect(() => {
    if (!session && route.name !== 'signin' && route.name !== 'callback') navigate('/signin', true);
    if (session && (route.name === 'home' || route.name === 'signin')) navigate(session.kind === 'internal' ? '/console' : session.kind === 'reviewer' ? '/queues' : '/claims', true);
  }, [session, route.name]);

  const changeLanguage = (next: Language) => {
    useLanguage(next, true);
    setLanguage(next);
    setLang(next);
  };

  const signedIn = (next: Session) => {
    saveSession(next);
    setSession(next);
  };

  useEffect(() => {
    document.title = `${t('appName')} · CPOR`;
  }, [lang]);

  let view;
  if (route.name === 'callback') view = <OidcCallback onSignedIn={signedIn} />;
  else if (!session || route.name === 'signin') view = config ? <SignIn config={config} onSignedIn={signedIn} /> : <p>{t('loading')}</p>;
  else if (route.name === 'claims' || route.name === 'home') view = <ClaimsList session={session} />;
  else if (route.name === 'new') view = <NewClaim session={session} />;
  else if (route.name === 'claim') view = <ClaimPage key={route.id} id={route.id} session={session} />;
  else if (route.name === 'history') view = <HistoryPage key={route.id} id={route.id} />;
  else if (route.name === 'queues') view = <Queues session={session} />;
  else if (route.name === 'console') view = <ConsoleHome />;
  else if (route.name === 'consolePage') {
    const page = CONSOLE_PAGES.find((candidate) => candidate.slug === route.slug);
    view = page ? page.render({ session, rest: route.rest }) : <NotFound />;
  } else view = <NotFound />;

  return (
    <>
      <a class="skip" href="#main">
        {t('skip')}
      </a>
      {config?.devSignIn && (
        <div class="banner banner-dev" role="note">
          {t('devBanner')}
        </div>
      )}
      {config?.demo && session && <DemoClock />}
      <header class="topbar">
        <a class="brand" {...link('/')}>
          {t('appName')}
        </a>
        {session && (
          <nav aria-label="Main">
            <ul class="nav">
              {(session.kind === 'partner' || session.kind === 'customer') && (
                <li>
                  <a {...link('/claims')} aria-current={route.name === 'claims' ? 'page' : undefined}>
                    {session.kind === 'customer' ? t('nav.tenantClaims') : t('nav.claims')}
                  </a>
                </li>
              )}
              {session.kind === 'partner' && (
                <li>
                  <a {...link('/claims/new')} aria-current={route.name === 'new' ? 'page' : undefined}>
                    {t('nav.new')}
                  </a>
                </li>
              )}
              {(session.kind === 'reviewer' || session.kind === 'internal') && (
                <li>
                  <a {...link('/queues')} aria-current={route.name === 'queues' ? 'page' : undefined}>
                    {t('nav.queues')}
                  </a>
                </li>
              )}
              {session.kind === 'internal' && (
                <li>
                  <a {...link('/console')} aria-current={route.name === 'console' || route.name === 'consolePage' ? 'page' : undefined}>
                    {t('nav.console')}
                  </a>
                </li>
              )}
            </ul>
          </nav>
        )}
        <div class="topbar-end">
          <label class="lang">
            <span class="visually-hidden">{t('language')}</span>
            <select value={lang} onChange={(e) => changeLanguage((e.currentTarget as HTMLSelectElement).value as Language)}>
              {Object.entries(LANGUAGES).map(([code, name]) => (
                <option key={code} value={code}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          {session && (
            <>
              {live && (
                <span class="chip chip-ok" title={t('live')}>
                  ● {t('live')}
                </span>
              )}
              <span class="who">{t('signedInAs', { name: session.name, role: session.role })}</span>
              <button type="button" class="btn btn-quiet" onClick={signOut}>
                {t('signOut')}
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>{t('notFound')}</h1>
      <p>
        <a {...link('/')}>{t('back')}</a>
      </p>
    </section>
  );
}

render(<App />, document.getElementById('app')!);
