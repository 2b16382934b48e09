/**
 * A scenario run drawn as an SVG timeline: the claim's states as bands over calendar time,
 * weekends and holidays shaded, each deadline's window with its due instant, pauses hatched,
 * refusals marked. A pure function of the run and its policy's calendar: the same input gives
 * the same bytes, and no DOM is needed (the console reuses it).
 */
import type { Calendar } from '../calendar';
import { toEpochDay } from '../calendar/calendar';
import type { Policy } from '../rules/policy-types';
import { deadlineRuns, type DeadlineRun } from './deadline-runs';
import type { ScenarioResult } from './run-scenario';

export interface TimelineSvgOptions {
  /** Prefix of the ids inside the picture, so several can share one page. */
  idPrefix?: string;
}

const WIDTH = 1400;
const LEFT = 250;
const RIGHT = 36;
const CHART = WIDTH - LEFT - RIGHT;
const AXIS_TOP = 64;
const GRID_TOP = 104;
const STATUS_H = 40;
const LANE_H = 18;
const DEADLINE_H = 44;
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

/** Fills chosen for dark text on them (contrast over 7:1). */
const STATE_FILL: Record<string, string> = {
  editing: '#e2e8f0',
  submitted: '#bfdbfe',
  underReview: '#c7d2fe',
  partnerActionRequired: '#fde68a',
  approved: '#bbf7d0',
  rejected: '#fecaca',
  disputed: '#e9d5ff',
  withdrawn: '#e5e7eb',
};

const OUTCOME_COLOUR = { met: '#15803d', fired: '#b91c1c', pending: '#1d4ed8' } as const;

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Coordinates with one decimal: stable text, no float noise. */
const n = (value: number) => String(Math.round(value * 10) / 10);

const weekdayOf = (date: string) => WEEKDAYS[(((toEpochDay(date) + 4) % 7) + 7) % 7]!;
const dayLabel = (date: string) => `${weekdayOf(date)} ${MONTHS[Number(date.slice(5, 7)) - 1]} ${Number(date.slice(8, 10))}`;

interface Segment {
  from: number;
  to: number;
  state: string;
}

/** Renders the run as an SVG document (UTF-8 text, no XML declaration needed). */
export function renderTimelineSvg(
  result: ScenarioResult,
  compiled: { policy: Policy; calendar: Calendar },
  options: TimelineSvgOptions = {},
): string {
  const { policy, calendar } = compiled;
  const id = options.idPrefix ?? 'cpor-timeline';
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: calendar.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const localTime = (instant: number) => time.format(instant);
  const when = (instant: number) => `${dayLabel(calendar.localDate(new Date(instant)))} ${localTime(instant)}`;

  const runs = deadlineRuns(result, policy.deadlines);
  const instants = [
    ...result.timeline.map((t) => Date.parse(t.at)),
    ...runs.flatMap((r) => [Date.parse(r.startedAt), Date.parse(r.due), ...(r.endedAt ? [Date.parse(r.endedAt)] : [])]),
  ];
  if (instants.length === 0) return emptySvg(result, id);
  const firstDay = calendar.localDate(new Date(Math.min(...instants)));
  const lastDay = calendar.addDays(calendar.localDate(new Date(Math.max(...instants))), 1);
  const days: string[] = [];
  for (let d = firstDay; d <= lastDay; d = calendar.addDays(d, 1)) days.push(d);
  const start = calendar.startOfLocalDay(firstDay).getTime();
  const end = calendar.startOfLocalDay(calendar.addDays(lastDay, 1)).getTime();
  const x = (instant: number) => LEFT + ((instant - start) / (end - start)) * CHART;
  const dayWidth = CHART / days.length;

  // States: from each applied move to the next; the last one runs to the end of the picture.
  const moves = result.timeline.filter((t) => !t.refused && t.to !== null);
  const segments: Segment[] = [];
  for (const [i, move] of moves.entries()) {
    const from = Date.parse(move.at);
    const to = i + 1 < moves.length ? Date.parse(moves[i + 1]!.at) : end;
    const last = segments[segments.length - 1];
    if (last && last.state === move.to) last.to = to;
    else segments.push({ from, to, state: move.to! });
  }

  const refusals = result.timeline.filter((t) => t.refused);
  // Refusal labels go in lanes so that none overlaps another.
  const laneEnds: number[] = [];
  const refusalLanes = refusals.map((t) => {
    const left = x(Date.parse(t.at));
    const width = 16 + 6.6 * (t.refused!.code.length + t.event.length + 3);
    let lane = laneEnds.findIndex((e) => e < left);
    if (lane < 0) lane = laneEnds.push(0) - 1;
    laneEnds[lane] = left + width;
    return lane;
  });
  const refusalTop = GRID_TOP + STATUS_H + 8;
  const refusalHeight = refusals.length ? Math.max(1, laneEnds.length) * LANE_H + 10 : 0;
  const deadlinesTop = refusalTop + refusalHeight + (refusals.length ? 4 : 0);
  const gridBottom = deadlinesTop + runs.length * DEADLINE_H;
  const legendTop = gridBottom + 22;
  const height = legendTop + 34;

  const out: string[] = [];
  const title = `Scenario timeline: ${result.name}`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${n(height)}" viewBox="0 0 ${WIDTH} ${n(height)}" role="img" aria-labelledby="${id}-title ${id}-desc" font-family="${FONT}">`,
    `<title id="${id}-title">${escapeXml(title)}</title>`,
    `<desc id="${id}-desc">${escapeXml(describe(result, runs, segments, when, calendar.timeZone))}</desc>`,
    `<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fef3c7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b45309" stroke-width="2.2"/></pattern></defs>`,
    `<rect width="${WIDTH}" height="${n(height)}" fill="#ffffff"/>`,
    `<text x="20" y="30" font-size="19" font-weight="600" fill="#0f172a">${escapeXml(result.name)}</text>`,
    `<text x="20" y="50" font-size="12.5" fill="#334155">${escapeXml(subtitle(result, calendar.timeZone))}</text>`,
  );

  // Days: weekends and holidays shaded over the whole grid, a line at each day, labels above.
  const holidays = new Set(policy.calendar.holidays);
  const everyDay = dayWidth >= 24;
  out.push('<g aria-hidden="true">');
  for (const day of days) {
    const left = x(calendar.startOfLocalDay(day).getTime());
    const right = x(calendar.startOfLocalDay(calendar.addDays(day, 1)).getTime());
    if (!calendar.isBusinessDay(day)) {
      const holiday = holidays.has(day);
      out.push(`<rect x="${n(left)}" y="${GRID_TOP - 12}" width="${n(right - left)}" height="${n(gridBottom - GRID_TOP + 12)}" fill="${holiday ? '#fce7f3' : '#f1f5f9'}"/>`);
      if (holiday && right - left >= 38) {
        out.push(`<text x="${n((left + right) / 2)}" y="${GRID_TOP - 2}" font-size="9.5" text-anchor="middle" fill="#9d174d">holiday</text>`);
      }
    }
    out.push(`<line x1="${n(left)}" y1="${AXIS_TOP + 14}" x2="${n(left)}" y2="${n(gridBottom)}" stroke="#e2e8f0" stroke-width="1"/>`);
    const date = Number(day.slice(8, 10));
    if (date === 1 || day === firstDay) {
      out.push(`<text x="${n(left + 3)}" y="${AXIS_TOP + 8}" font-size="12" font-weight="600" fill="#0f172a">${MONTHS[Number(day.slice(5, 7)) - 1]} ${day.slice(0, 4)}</text>`);
    }
    // A run of a day or two: hours too.
    if (days.length <= 3) {
      for (const hour of [6, 12, 18]) {
        const hx = x(calendar.startOfLocalDay(day).getTime() + hour * 3_600_000);
        if (hx >= x(end)) continue;
        out.push(
          `<line x1="${n(hx)}" y1="${AXIS_TOP + 34}" x2="${n(hx)}" y2="${n(gridBottom)}" stroke="#f1f5f9" stroke-width="1"/>`,
          `<text x="${n(hx)}" y="${AXIS_TOP + 34}" font-size="9.5" text-anchor="middle" fill="#64748b">${String(hour).padStart(2, '0')}:00</text>`,
        );
      }
    }
    if (everyDay || weekdayOf(day) === 'Mon') {
      const label = dayWidth >= 40 ? `${weekdayOf(day)} ${date}` : String(date);
      const centred = everyDay && days.length > 3;
      out.push(`<text x="${n(centred ? (left + right) / 2 : left + 4)}" y="${AXIS_TOP + 28}" font-size="11" ${centred ? 'text-anchor="middle" ' : ''}fill="#475569">${label}</text>`);
    }
  }
  out.push('</g>');

  // Row labels.
  out.push(`<text x="20" y="${GRID_TOP + 25}" font-size="13" font-weight="600" fill="#0f172a">Claim status</text>`);
  if (refusals.length) out.push(`<text x="20" y="${refusalTop + 14}" font-size="13" font-weight="600" fill="#0f172a">Refused steps</text>`);

  // States.
  out.push('<g>');
  for (const s of segments) {
    const left = x(s.from);
    const width = Math.max(1, x(s.to) - left);
    const [status, substatus] = s.state.split('.');
    const label = substatus ? `${status} · ${substatus}` : status!;
    out.push(
      `<g><title>${escapeXml(`${label}: ${when(s.from)} to ${s.to >= end ? 'the end of the run' : when(s.to)}`)}</title>`,
      `<rect x="${n(left)}" y="${GRID_TOP}" width="${n(width)}" height="${STATUS_H}" rx="3" fill="${STATE_FILL[status!] ?? '#e5e7eb'}" stroke="#ffffff" stroke-width="1"/>`,
      fitText(label, left, width, GRID_TOP + 25, 12, '#0f172a'),
      '</g>',
    );
  }
  // Each applied event: a tick under the band (its name in the tooltip).
  for (const t of result.timeline) {
    if (t.refused) continue;
    const at = x(Date.parse(t.at));
    const move = t.from === t.to ? `${t.to ?? ''}` : `${t.from ?? 'new'} → ${t.to}`;
    out.push(
      `<g><title>${escapeXml(`${when(Date.parse(t.at))}: ${t.event} by ${t.by} (${move})`)}</title><path d="M${n(at)} ${GRID_TOP + STATUS_H - 7} l4 7 h-8 z" fill="${t.by === 'system' ? '#b91c1c' : '#334155'}"/></g>`,
    );
  }
  out.push('</g>');

  // Refusals: a red cross on the time axis with the code beside it.
  out.push('<g>');
  refusals.forEach((t, i) => {
    const at = x(Date.parse(t.at));
    const y = refusalTop + refusalLanes[i]! * LANE_H + 10;
    out.push(
      `<g><title>${escapeXml(`${when(Date.parse(t.at))}: ${t.event} by ${t.by} refused, ${t.refused!.code}: ${t.refused!.message}`)}</title>`,
      `<line x1="${n(at)}" y1="${GRID_TOP + STATUS_H}" x2="${n(at)}" y2="${n(y)}" stroke="#b91c1c" stroke-width="1" stroke-dasharray="2 2"/>`,
      `<path d="M${n(at - 4.5)} ${n(y - 4.5)} l9 9 m0 -9 l-9 9" stroke="#b91c1c" stroke-width="2.4" stroke-linecap="round"/>`,
      `<text x="${n(at + 8)}" y="${n(y + 4)}" font-size="11.5" fill="#991b1b">${escapeXml(`${t.event}: ${t.refused!.code}`)}</text>`,
      '</g>',
    );
  });
  out.push('</g>');

  // Deadlines: the window from start to due (outlined), the time it ran (filled), pauses hatched, the due instant.
  runs.forEach((run, i) => {
    const top = deadlinesTop + i * DEADLINE_H;
    const spec = policy.deadlines[run.name];
    const length = spec ? (spec.businessDays !== undefined ? `${spec.businessDays} business days` : `${spec.days ?? 0} days`) : '';
    const started = Date.parse(run.startedAt);
    const due = Date.parse(run.due);
    const ended = run.endedAt ? Date.parse(run.endedAt) : null;
    const outcome =
      run.outcome === 'met' ? `met ${when(ended ?? due)}` : run.outcome === 'fired' ? `fired ${when(due)}` : 'pending';
    const barY = top + 14;
    const barH = 16;
    out.push(
      `<g><title>${escapeXml(`${run.name}: started ${when(started)}, due ${when(due)}, ${outcome}${run.pauses.length ? `; paused ${run.pauses.map((p) => `${when(Date.parse(p.from))} to ${p.to ? when(Date.parse(p.to)) : 'the end'}`).join(', ')}` : ''}`)}</title>`,
      `<line x1="20" y1="${top}" x2="${WIDTH - RIGHT}" y2="${top}" stroke="#e2e8f0"/>`,
      `<text x="20" y="${top + 20}" font-size="13" font-weight="600" fill="#0f172a">${escapeXml(run.name)}</text>`,
      `<text x="20" y="${top + 36}" font-size="11" fill="#475569">${escapeXml(length)}${length ? ' · ' : ''}<tspan fill="${OUTCOME_COLOUR[run.outcome]}" font-weight="600">${escapeXml(run.outcome)}</tspan></text>`,
      `<rect x="${n(x(started))}" y="${barY}" width="${n(Math.max(1, x(due) - x(started)))}" height="${barH}" rx="3" fill="none" stroke="#64748b" stroke-width="1.2" stroke-dasharray="4 3"/>`,
      `<rect x="${n(x(started))}" y="${barY}" width="${n(Math.max(1, x(ended ?? (run.outcome === 'pending' ? due : end)) - x(started)))}" height="${barH}" rx="3" fill="#93c5fd" fill-opacity="0.85"/>`,
    );
    for (const pause of run.pauses) {
      const from = x(Date.parse(pause.from));
      const to = x(pause.to ? Date.parse(pause.to) : (ended ?? end));
      out.push(`<rect x="${n(from)}" y="${barY}" width="${n(Math.max(1, to - from))}" height="${barH}" fill="url(#${id}-hatch)" stroke="#b45309" stroke-width="1"/>`);
      if (to - from > 44) out.push(`<text x="${n((from + to) / 2)}" y="${barY + 12}" font-size="10.5" font-weight="600" text-anchor="middle" fill="#78350f">paused</text>`);
    }
    // The due instant: a diamond on a line, labelled on whichever side has room.
    const dx = x(due);
    // Due at 00:00 local after the due date: say the date the party has, as people do.
    const label = `due by end of ${dayLabel(calendar.localDate(new Date(due - 1)))}`;
    const room = dx + 10 + 6.4 * label.length < WIDTH - RIGHT;
    out.push(
      `<line x1="${n(dx)}" y1="${top + 8}" x2="${n(dx)}" y2="${top + DEADLINE_H - 6}" stroke="#0f172a" stroke-width="1.5"/>`,
      `<path d="M${n(dx)} ${barY + barH / 2 - 6} l6 6 l-6 6 l-6 -6 z" fill="${OUTCOME_COLOUR[run.outcome]}" stroke="#ffffff" stroke-width="1"/>`,
      `<text x="${n(room ? dx + 9 : dx - 9)}" y="${top + 11}" font-size="11" ${room ? '' : 'text-anchor="end" '}fill="#0f172a">${escapeXml(label)}</text>`,
    );
    if (run.outcome === 'met' && ended !== null) {
      out.push(`<path d="M${n(x(ended))} ${barY - 2} v${barH + 4}" stroke="${OUTCOME_COLOUR.met}" stroke-width="2.5"/>`);
    }
    out.push('</g>');
  });

  out.push(legend(id, legendTop));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Text centred in a band, shortened with an ellipsis (or left out) when the band is too narrow. */
function fitText(text: string, left: number, width: number, y: number, size: number, fill: string): string {
  const perChar = size * 0.56;
  const fits = Math.floor((width - 8) / perChar);
  if (fits < 3) return '';
  const shown = text.length <= fits ? text : `${text.slice(0, fits - 1)}…`;
  return `<text x="${n(left + width / 2)}" y="${y}" font-size="${size}" text-anchor="middle" fill="${fill}">${escapeXml(shown)}</text>`;
}

function subtitle(result: ScenarioResult, timeZone: string): string {
  const f = result.final;
  const final = `${f.status ?? 'no claim'}${f.substatus ? ` (${f.substatus})` : ''}${f.reason ? `, reason ${f.reason}` : ''}${f.overdue.length ? `, overdue ${f.overdue.join(', ')}` : ''}`;
  const verdict = result.passed === null ? 'no expectations' : result.passed ? 'expectations met' : `${result.failures.length} expectation(s) failed`;
  return `${result.file} · policy ${result.policy.id} ${result.policy.version} · local time ${timeZone} · final: ${final} · ${verdict}`;
}

/** The picture in words, for screen readers and search. */
function describe(
  result: ScenarioResult,
  runs: DeadlineRun[],
  segments: Segment[],
  when: (instant: number) => string,
  timeZone: string,
): string {
  const parts = [`Claim states over time (local time ${timeZone}): ${segments.map((s) => `${s.state} from ${when(s.from)}`).join('; ')}.`];
  for (const run of runs) {
    const pauses = run.pauses.map((p) => `paused ${when(Date.parse(p.from))} to ${p.to ? when(Date.parse(p.to)) : 'the end'}`);
    const ended = run.outcome === 'met' && run.endedAt ? ` at ${when(Date.parse(run.endedAt))}` : '';
    parts.push(`Deadline ${run.name} started ${when(Date.parse(run.startedAt))}, due ${when(Date.parse(run.due))}${pauses.length ? `, ${pauses.join(', ')}` : ''}, ${run.outcome}${ended}.`);
  }
  for (const t of result.timeline.filter((e) => e.refused)) {
    parts.push(`Refused: ${t.event} by ${t.by} at ${when(Date.parse(t.at))} (${t.refused!.code}).`);
  }
  return parts.join(' ');
}

function legend(id: string, top: number): string {
  const items: string[] = [];
  let at = 20;
  const add = (swatch: string, label: string) => {
    items.push(swatch.replace(/X0/g, String(at)), `<text x="${at + 22}" y="${top + 12}" font-size="11.5" fill="#334155">${label}</text>`);
    at += 44 + label.length * 6.2;
  };
  add(`<rect x="X0" y="${top}" width="16" height="16" fill="#f1f5f9" stroke="#cbd5e1"/>`, 'weekend');
  add(`<rect x="X0" y="${top}" width="16" height="16" fill="#fce7f3" stroke="#f9a8d4"/>`, 'holiday');
  add(`<rect x="X0" y="${top}" width="16" height="16" rx="3" fill="none" stroke="#64748b" stroke-dasharray="4 3"/>`, 'deadline window (start to due)');
  add(`<rect x="X0" y="${top}" width="16" height="16" rx="3" fill="#93c5fd"/>`, 'running');
  add(`<rect x="X0" y="${top}" width="16" height="16" fill="url(#${id}-hatch)" stroke="#b45309"/>`, 'paused');
  add(`<path d="MX0 ${top + 8} m8 -7 l7 7 l-7 7 l-7 -7 z" fill="#0f172a"/>`, 'due (green met, red fired, blue pending)');
  add(`<path d="MX0 ${top + 8} m4 -5 l8 10 m0 -10 l-8 10" stroke="#b91c1c" stroke-width="2.4"/>`, 'refused step');
  add(`<path d="MX0 ${top + 8} m8 -5 l5 9 h-10 z" fill="#334155"/>`, 'event (system: red)');
  return `<g aria-hidden="true">${items.join('')}</g>`;
}

function emptySvg(result: ScenarioResult, id: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="80" viewBox="0 0 ${WIDTH} 80" role="img" aria-labelledby="${id}-title ${id}-desc" font-family="${FONT}">`,
    `<title id="${id}-title">${escapeXml(`Scenario timeline: ${result.name}`)}</title>`,
    `<desc id="${id}-desc">${escapeXml(`Nothing happened: ${result.failures.join('; ') || 'the scenario has no steps that ran'}.`)}</desc>`,
    `<rect width="${WIDTH}" height="80" fill="#ffffff"/>`,
    `<text x="20" y="30" font-size="19" font-weight="600" fill="#0f172a">${escapeXml(result.name)}</text>`,
    `<text x="20" y="54" font-size="12.5" fill="#334155">No step ran: nothing to draw.</text>`,
    '</svg>',
    '',
  ].join('\n');
}
