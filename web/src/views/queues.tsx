/**
 * Reviewer queues: to start (submitted), in review, waiting on partner, and, across them,
 * overdue, at risk and conflicted; each sorted by time left, with SLA chips that show paused
 * clocks as paused. Live changes reload the queues.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import type { Claim } from '../api/contract';
import { currentDeadline, DeadlineMarks, EscalatedMark, hoursLeftOf, timeLeftText } from '../deadlines';
import { deadlineName, t } from '../i18n/i18n';
import type { MessageKey } from '../i18n/en';
import { onClaimChange } from '../live';
import { productCodes } from '../policy';
import { claimUrl, link } from '../router';
import type { Session } from '../session';
import { customerName } from './claims-list';

const LIMIT = 100;
type StatusQuery = 'submitted' | 'underReview' | 'partnerActionRequired';
const STATUS_QUEUES: Array<{ key: MessageKey; status: StatusQuery }> = [
  { key: 'queue.toStart', status: 'submitted' },
  { key: 'queue.inReview', status: 'underReview' },
  { key: 'queue.waiting', status: 'partnerActionRequired' },
];

async function listAll(query: Record<string, unknown>): Promise<Claim[]> {
  const page = ok(await api.GET('/v1/claims', { params: { query: { limit: LIMIT, ...query } as never } }));
  return page.items as unknown as Claim[];
}

export function Queues(_props: { session: Session }) {
  const [queues, setQueues] = useState<Record<string, Claim[]> | undefined>();
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  useEffect(() => onClaimChange(() => setReload((n) => n + 1)), []);
  useEffect(() => {
    Promise.all([...STATUS_QUEUES.map((q) => listAll({ status: q.status })), listAll({ conflicted: true }).catch(() => [])])
      .then(([submitted, underReview, waiting, conflicted]) => {
        const active = [...submitted!, ...underReview!, ...waiting!];
        const overdue = active.filter((c) => (c.overdue ?? []).length > 0 || c.deadlines.some((d) => d.overdue));
        const atRisk = active.filter((c) => !overdue.includes(c) && c.deadlines.some((d) => d.atRisk));
        setQueues({ submitted: submitted!, underReview: underReview!, partnerActionRequired: waiting!, overdue, atRisk, conflicted: conflicted! });
      })
      .catch((e: Error) => setError(e.message));
  }, [reload]);

  if (error)
    return (
      <p class="alert alert-error" role="alert">
        {error}
      </p>
    );
  if (!queues) return <p>{t('loading')}</p>;
  const all: Array<{ key: MessageKey; id: string }> = [
    ...STATUS_QUEUES.map((q) => ({ key: q.key, id: q.status })),
    { key: 'queue.overdue', id: 'overdue' },
    { key: 'queue.atRisk', id: 'atRisk' },
    { key: 'queue.conflicted', id: 'conflicted' },
  ];
  return (
    <section>
      <h1>{t('queues.title')}</h1>
      <div class="queues">
        {all.map(({ key, id }) => {
          const claims = [...(queues[id] ?? [])].sort((a, b) => hoursLeftOf(currentDeadline(a)) - hoursLeftOf(currentDeadline(b)));
          return (
            <section key={id} class="card queue" aria-labelledby={`q-${id}`}>
              <h2 id={`q-${id}`}>
                {t(key)} <span class="count">{claims.length}</span>
              </h2>
              {claims.length === 0 && <p class="muted">{t('queue.empty')}</p>}
              <ul class="plain">
                {claims.map((claim) => {
                  const deadline = currentDeadline(claim);
                  return (
                    <li key={claim.id} class="queue-item">
                      <a {...link(claimUrl(claim.id))}>{customerName(claim)}</a>
                      <div class="muted small">
                        {(claim.fields as { partnerId?: string }).partnerId} · {productCodes(claim).join(', ')}
                      </div>
                      <div class="sla">
                        {deadline ? <span class={`chip ${deadline.paused ? 'chip-muted' : 'chip-info'}`}>{deadline.paused ? `⏸ ${t('paused')} · ${deadlineName(deadline.name)}` : `${deadlineName(deadline.name)}: ${timeLeftText(deadline)}`}</span> : null}
                        <DeadlineMarks deadline={deadline} /> <EscalatedMark claim={claim} />
                      </div>
                    </li>
                  );
                })}
              </ul>
            </section>
          );
        })}
      </div>
    </section>
  );
}
