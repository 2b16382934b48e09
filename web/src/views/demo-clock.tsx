/** Demo mode: the virtual clock, moved to the next business day or the next deadline. */
import { useEffect, useState } from 'preact/hooks';
import { call } from '../api/client';
import { formatInstant } from '../deadlines';
import { t } from '../i18n/i18n';

export function DemoClock() {
  const [now, setNow] = useState<string | undefined>();
  useEffect(() => void call<{ now: string }>('GET', '/v1/demo/clock').then((c) => setNow(c.now), () => {}), []);
  const advance = (to: 'nextBusinessDay' | 'nextDeadline') => void call<{ now: string }>('POST', '/v1/demo/clock', { advance: to }).then((c) => setNow(c.now), () => {});
  if (!now) return null;
  return (
    <div class="banner banner-demo" role="region" aria-label={t('demoBanner')}>
      <span>{t('demoBanner')}</span> <strong>{t('demo.clock', { now: formatInstant(now) })}</strong>
      <button type="button" class="btn btn-small" onClick={() => advance('nextBusinessDay')}>
        {t('demo.nextBusinessDay')}
      </button>
      <button type="button" class="btn btn-small" onClick={() => advance('nextDeadline')}>
        {t('demo.nextDeadline')}
      </button>
    </div>
  );
}
