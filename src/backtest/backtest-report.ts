/** Backtest reports as CSV (one row per claim) and as a readable summary. */
import { CHANGED_FIELDS, type BacktestReport, type ClaimBacktest, type ClaimOutcome } from './backtest';

const CSV_COLUMNS = [
  'claimId',
  'changed',
  'fieldsChanged',
  'statusBefore',
  'statusAfter',
  'reasonBefore',
  'reasonAfter',
  'overdueBefore',
  'overdueAfter',
  'deficienciesBefore',
  'deficienciesAfter',
  'deadlineChanges',
] as const;

/** One row per claim (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line break). */
export function toCsv(report: BacktestReport): string {
  return csvHeader() + report.claims.map(csvRow).join('');
}

/** The CSV's first line (column names). */
export const csvHeader = (): string => csvLine(CSV_COLUMNS.slice());

/** One claim's CSV line (CRLF-terminated). */
export const csvRow = (claim: ClaimBacktest): string => csvLine(csvFields(claim));

const csvLine = (fields: string[]) => fields.map(csvField).join(',') + '\r\n';

function csvFields(claim: ClaimBacktest): string[] {
  const { baseline: b, candidate: c } = claim;
  return [
    claim.claimId,
    claim.changed ? 'true' : 'false',
    claim.changes.map((change) => change.field).join(' '),
    statusText(b),
    statusText(c),
    b.reason ?? '',
    c.reason ?? '',
    b.overdue.join(' '),
    c.overdue.join(' '),
    b.deficiencies.join(' '),
    c.deficiencies.join(' '),
    claim.changes.find((change) => change.field === 'deadlines')?.summary ?? '',
  ];
}

const statusText = (outcome: ClaimOutcome) => (outcome.substatus ? `${outcome.status}.${outcome.substatus}` : outcome.status);

const FORMULA_START = /^[=+\-@\t\r\n ;\uFF1D\uFF0B\uFF0D\uFF20]/;

/** An RFC 4180 field: quoted (with quotes doubled) when it holds a comma, a quote, CR or LF. */
export function csvField(value: string): string {
  // A cell a spreadsheet could run as a formula is prefixed with a quote mark (OWASP's CSV injection
  // advice): customer names and comments come from outside. Besides = + - @, that is a leading tab,
  // CR or LF, a space or `;` (spreadsheets trim the one and split on the other in some locales), and
  // the full-width ＝ ＋ － ＠ that some spreadsheets read as their ASCII forms.
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Totals, then one block per changed claim (the first `maxClaims`, default 50) with a line per change. */
export function formatSummary(report: BacktestReport, options: { maxClaims?: number } = {}): string {
  const maxClaims = options.maxClaims ?? 50;
  const { totals } = report;
  const lines = [
    `Backtest of policy ${report.candidate.id} ${report.candidate.version} until ${report.until}${report.since ? `, claims created since ${report.since}` : ''}`,
    `${totals.claims} claims: ${totals.changed} changed, ${totals.unchanged} unchanged${totals.skipped ? `, ${totals.skipped} skipped` : ''} (${(totals.durationMs / 1000).toFixed(1)} s)`,
  ];
  const fields = CHANGED_FIELDS.filter((field) => totals.byField[field]);
  if (fields.length > 0) lines.push(`changed fields: ${fields.map((field) => `${field} ${totals.byField[field]}`).join(', ')}`);
  const changed = report.claims.filter((claim) => claim.changed);
  if (changed.length > 0) lines.push('');
  for (const claim of changed.slice(0, maxClaims)) {
    lines.push(`${claim.claimId}: ${statusText(claim.baseline)} → ${statusText(claim.candidate)}`);
    for (const change of claim.changes) lines.push(`  ${change.summary}`);
  }
  if (changed.length > maxClaims) {
    lines.push(`… and ${changed.length - maxClaims} more changed claims (the JSON and CSV reports list every claim)`);
  }
  if (report.skipped.length > 0) {
    lines.push('', 'skipped:');
    for (const skip of report.skipped) lines.push(`  ${skip.claimId}: ${skip.code}: ${skip.message}`);
  }
  return lines.join('\n') + '\n';
}
