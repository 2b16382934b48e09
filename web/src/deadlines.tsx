/** A claim's open deadlines: time left in the policy's days (business or calendar) and hours, due in the policy's zone and the user's. */
import type { Claim, DeadlineView } from './api/contract';
import { deadlineName, language, t } from './i18n/i18n';

const isOpen = (d: DeadlineView) => d.status === 'running' || d.status === 'paused';

/** The deadline that matters now: the open one that falls due first (a paused clock last). */
export function currentDeadline(claim: Pick<Claim, 'deadlines'>): DeadlineView | undefined {
  return claim.deadlines.filter(isOpen).sort((a, b) => hoursLeftOf(a) - hoursLeftOf(b))[0];
}

/** Hours left; paused clocks sort after running ones, claims without a deadline last. */
export function hoursLeftOf(deadline: DeadlineView | undefined): number {
  if (!deadline) return Number.POSITIVE_INFINITY;
  return deadline.paused ? Number.MAX_SAFE_INTEGER : deadline.hoursLeft;
}

export function formatInstant(instant: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short', ...(timeZone ? { timeZone } : {}) }).format(new Date(instant));
}

/**
 * When a deadline is due, in `timeZone`: a due instant at local midnight ends the day before, so it
 * reads "by end of Fri, Dec 11"; any other instant is shown as date and time.
 */
function formatDue(instant: string, timeZone: string): string {
  const at = new Date(instant);
  const parts = new Intl.DateTimeFormat('en', { timeZone, hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  if (part('hour') !== 0 || part('minute') !== 0 || part('second') !== 0) return formatInstant(instant, timeZone);
  const day = new Intl.DateTimeFormat(language(), { timeZone, weekday: 'short', month: 'short', day: 'numeric' }).format(new Date(at.getTime() - 1));
  return t('dueByEndOf', { day });
}

const userZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Chips: overdue, at risk, paused. */
export function DeadlineMarks({ deadline }: { deadline: DeadlineView | undefined }) {
  return (
    <>
      {deadline?.overdue && <span class="chip chip-danger">{t('overdue')}</span>}
      {deadline?.atRisk && !deadline.overdue && <span class="chip chip-warn">{t('atRisk')}</span>}
      {deadline?.paused && <span class="chip chip-muted">⏸ {t('paused')}</span>}
    </>
  );
}

/** "3 business days left (76 h)", or "6 days left (140 h)" for a deadline the policy counts in calendar days. */
export function timeLeftText(deadline: DeadlineView): string {
  return deadline.unit === 'days'
    ? t('timeLeftDays', { days: deadline.daysLeft, hours: deadline.hoursLeft })
    : t('timeLeft', { days: deadline.daysLeft, hours: deadline.hoursLeft });
}

/** Deadlines that fell due and escalated (the claim stays flagged until it leaves their states). */
export function EscalatedMark({ claim }: { claim: Pick<Claim, 'overdue'> }) {
  const names = claim.overdue ?? [];
  return names.length > 0 ? <span class="chip chip-danger">{`${t('overdue')}: ${names.map(deadlineName).join(', ')}`}</span> : null;
}

export function DeadlineSummary({ claim }: { claim: Claim }) {
  const deadline = currentDeadline(claim);
  return (
    <span class="deadline-summary">
      {deadline ? (
        <>
          <span class="deadline-name">{deadlineName(deadline.name)}</span>: {deadline.paused ? t('paused') : timeLeftText(deadline)} <DeadlineMarks deadline={deadline} />
        </>
      ) : (
        <span class="muted">{t('noDeadline')}</span>
      )}{' '}
      <EscalatedMark claim={claim} />
    </span>
  );
}

/** The claim page's deadline box: every open deadline, due in the policy's zone and the user's. */
export function DeadlineBox({ claim }: { claim: Claim }) {
  const open = claim.deadlines.filter(isOpen);
  return (
    <section class="card" aria-labelledby="deadlines-h">
      <h2 id="deadlines-h">{t('deadline.title')}</h2>
      {open.length === 0 && <p class="muted">{t('noDeadline')}</p>}
      <EscalatedMark claim={claim} />
      <ul class="plain">
        {open.map((d) => (
          <li key={d.name} class="deadline">
            <div>
              <strong>{deadlineName(d.name)}</strong> <DeadlineMarks deadline={d} />
            </div>
            <div class="deadline-left">{d.paused ? t('paused') : timeLeftText(d)}</div>
            <div class="muted small">
              {t('dueAt', { policyTime: formatDue(d.dueAt, claim.timeZone), zone: claim.timeZone, localTime: formatDue(d.dueAt, userZone()) })}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
