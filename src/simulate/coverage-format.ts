/** Readable text of a coverage report: per policy, each rule and condition, deadline and refusal, then what is missing. */
import type { CoverageReport, PolicyCoverage } from './coverage-collector';

const MISSING = '✗';

/** `12` or `0 ✗`, right-aligned in a column. */
const cell = (n: number | null, width = 6) => (n === null ? '-' : n > 0 ? String(n) : `0 ${MISSING}`).padStart(width);

const relPath = (rulePath: string, path: string) => (path === rulePath ? '(the rule itself)' : path.slice(rulePath.length + 1));

function formatPolicy(c: PolicyCoverage): string[] {
  const s = c.summary;
  const lines = [
    `Coverage of policy ${c.policy.id} ${c.policy.version} (${c.scenarios} scenario${c.scenarios === 1 ? '' : 's'}): ${s.percent}% (${s.covered}/${s.total})`,
    `  rules ${s.rules.covered}/${s.rules.total}, conditions ${s.conditions.covered}/${s.conditions.total}, deadlines ${s.deadlines.covered}/${s.deadlines.total}, refusals ${s.refusals.covered}/${s.refusals.total}`,
  ];
  const missing: string[] = [];
  let section = '';
  for (const rule of c.rules) {
    if (rule.section !== section) {
      section = rule.section;
      lines.push('', `  ${section}${' '.repeat(Math.max(1, 58 - section.length))}  true  false`);
    }
    lines.push(`    ${rule.code.padEnd(56)}${cell(rule.true)} ${cell(rule.false)}`);
    if (!rule.true) missing.push(`${rule.path} (${rule.code}) never true`);
    if (!rule.false) missing.push(`${rule.path} (${rule.code}) never false`);
    for (const condition of rule.conditions) {
      const at = relPath(rule.path, condition.path);
      lines.push(`      ${`${at}  ${condition.text}`.padEnd(54)}${cell(condition.true)} ${cell(condition.false)}`);
      if (!condition.true) missing.push(`${condition.path} (${rule.code}: ${condition.text}) never true`);
      if (!condition.false) missing.push(`${condition.path} (${rule.code}: ${condition.text}) never false`);
    }
  }
  lines.push('', `  deadlines${' '.repeat(49)}  fired    met  paused`);
  for (const d of c.deadlines) {
    lines.push(`    ${d.name.padEnd(56)}${cell(d.fired)} ${cell(d.met)} ${cell(d.paused, 7)}`);
    if (!d.fired) missing.push(`deadline ${d.name} never fired`);
    if (!d.met) missing.push(`deadline ${d.name} never met`);
    if (d.paused === 0) missing.push(`deadline ${d.name} never paused`);
  }
  lines.push('', `  refusals${' '.repeat(50)}  occurred`);
  for (const r of c.refusals) {
    lines.push(`    ${r.code.padEnd(56)}${r.reachable ? cell(r.occurred) : `     -  (cannot occur: ${r.note})`}`);
    if (r.reachable && !r.occurred) missing.push(`refusal ${r.code} never occurred`);
  }
  if (missing.length) lines.push('', '  not covered:', ...missing.map((m) => `    - ${m}`));
  return lines;
}

export function formatCoverage(report: CoverageReport): string {
  const blocks = report.policies.map((p) => formatPolicy(p).join('\n'));
  const s = report.summary;
  blocks.push(`coverage ${s.percent}% (${s.covered} of ${s.total} outcomes)`);
  return blocks.join('\n\n') + '\n';
}
