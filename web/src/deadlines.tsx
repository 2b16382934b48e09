/** A claim's running deadline: time left in business days and hours, due in the policy's zone and the user's. */
import type { Claim, DeadlineView } from './api/contract';
import { language, t } from './i18n/i18n';

/** The deadline that matters now: the running (or paused) one that falls due first. */
export function currentDeadline(claim: Pick<Claim, 'deadlines'>): DeadlineView | undefined {
  const live = claim.deadlines.filter((d) => d.status === undefined || d.status === 'running' || d.status === 'paused' || d.paused);
  return live.sort((a, b) => hoursLeftOf(a) - hoursLeftOf(b))[0];
}

/** Hours left (from the API, else from dueAt); paused clocks sort last. */
export function hoursLeftOf(deadline: DeadlineView | undefined): number {
  if (!deadline) return Number.POSITIVE_INFINITY;
  if (deadline.paused || deadline.status === 'paused') return Number.MAX_SAFE_INTEGER;
  if (typeof deadline.hoursLeft === 'number') return deadline.hoursLeft + (deadline.businessDaysLeft ?? 0) * 24;
  return deadline.dueAt ? (Date.parse(deadline.dueAt) - Date.now()) / 3_600_000 : Number.POSITIVE_INFINITY;
}

export function formatInstant(instant: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short', ...(timeZone ? { timeZone } : {}) }).format(new Date(instant));
}

const userZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Chips: overdue, at risk, paused. */
export function DeadlineMarks({ deadline, overdue }: { deadline: DeadlineView | undefined; overdue?: boolean }) {
  return (
    <>
      {(overdue || deadline?.overdue) && <span class="chip chip-danger">{t('overdue')}</span>}
      {deadline?.atRisk && !deadline.overdue && <span class="chip chip-warn">{t('atRisk')}</span>}
      {(deadline?.paused || deadline?.status === 'paused') && <span class="chip chip-muted">⏸ {t('paused')}</span>}
    </>
  );
}

/** "3 business days 4 h left" (or paused), for lists and chips. */
export function timeLeftText(deadline: DeadlineView): string {
  if (typeof deadline.businessDaysLeft === 'number') {
    return t('timeLeft', { days: deadline.businessDaysLeft, hours: Math.max(0, Math.floor(deadline.hoursLeft ?? 0)) });
  }
  if (!deadline.dueAt) return deadline.name;
  const hours = Math.max(0, (Date.parse(deadline.dueAt) - Date.now()) / 3_600_000);
  return t('timeLeft', { days: Math.floor(hours / 24), hours: Math.floor(hours % 24) });
}

export function DeadlineSummary({ claim }: { claim: Claim }) {
  const deadline = currentDeadline(claim);
  if (!deadline) return <span class="muted">{t('noDeadline')}</span>;
  return (
    <span class="deadline-summary">
      <span class="deadline-name">{deadline.name}</span> <span>{timeLeftText(deadline)}</span>{' '}
      <DeadlineMarks deadline={deadline} overdue={claim.overdue?.includes(deadline.name)} />
    </span>
  );
}

/** The claim page's deadline box: every running or paused deadline, due in both zones. */
export function DeadlineBox({ claim }: { claim: Claim }) {
  const live = claim.deadlines.filter((d) => d.status === undefined || d.status === 'running' || d.status === 'paused' || d.paused);
  return (
    <section class="card" aria-labelledby="deadlines-h">
      <h2 id="deadlines-h">{t('deadline.title')}</h2>
      {live.length === 0 && <p class="muted">{t('noDeadline')}</p>}
      <ul class="plain">
        {live.map((d) => (
          <li key={d.name} class="deadline">
            <div>
              <strong>{d.name}</strong> <DeadlineMarks deadline={d} overdue={claim.overdue?.includes(d.name)} />
            </div>
            <div class="deadline-left">{timeLeftText(d)}</div>
            {d.dueAt && (
              <div class="muted small">
                {t('dueAt', {
                  policyTime: formatInstant(d.dueAt, claim.timeZone),
                  zone: claim.timeZone ?? 'UTC',
                  localTime: formatInstant(d.dueAt, userZone()),
                })}
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
