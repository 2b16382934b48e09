/**
 * Demo mode: the virtual clock. The people running the demo (roles the API lets move it:
 * reviewer and internal kinds) move it to the next business day or the next deadline;
 * everyone else sees it read-only.
 */
import { useEffect, useState } from 'preact/hooks';
import { call } from '../api/client';
import { formatInstant } from '../deadlines';
import { t } from '../i18n/i18n';

interface Clock {
  now: string;
  canMove?: boolean;
}

export function DemoClock() {
  const [clock, setClock] = useState<Clock | undefined>();
  useEffect(() => void call<Clock>('GET', '/v1/demo/clock').then(setClock, () => {}), []);
  const advance = (to: 'nextBusinessDay' | 'nextDeadline') =>
    void call<Clock>('POST', '/v1/demo/clock', { advance: to }).then((c) => setClock((old) => ({ ...old, now: c.now })), () => {});
  if (!clock) return null;
  return (
    <div class="banner banner-demo" role="region" aria-label={t('demoBanner')}>
      <span>{t('demoBanner')}</span> <strong>{t('demo.clock', { now: formatInstant(clock.now) })}</strong>
      {clock.canMove ? (
        <>
          <button type="button" class="btn btn-small" onClick={() => advance('nextBusinessDay')}>
            {t('demo.nextBusinessDay')}
          </button>
          <button type="button" class="btn btn-small" onClick={() => advance('nextDeadline')}>
            {t('demo.nextDeadline')}
          </button>
        </>
      ) : (
        <span>{t('demo.readOnly')}</span>
      )}
    </div>
  );
}
