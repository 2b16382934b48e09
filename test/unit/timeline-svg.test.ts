import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario, type ScenarioResult } from '../../src/simulate/run-scenario';
import { parseScenario } from '../../src/simulate/scenario';
import { renderTimelineSvg } from '../../src/simulate/timeline-svg';
import { compiledBundledPolicy } from '../support/bundled-policy';

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');

async function run(file: string, edit: (text: string) => string = (t) => t): Promise<ScenarioResult> {
  const parsed = parseScenario(edit(readFileSync(join(SCENARIOS, file), 'utf8')), file);
  if (!parsed.ok) throw new Error(parsed.error);
  return runScenario(parsed.scenario, { file: `scenarios/${file}`, policy: await compiledBundledPolicy() });
}

async function draw(file: string, edit?: (text: string) => string): Promise<string> {
  return renderTimelineSvg(await run(file, edit), await compiledBundledPolicy());
}

/** The attributes of every element named `tag`. */
const elements = (svg: string, tag: string) => [...svg.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))].map((m) => m[1]!);

describe('scenario timeline picture', () => {
  it('is the same bytes for the same scenario, run twice', async () => {
    const first = await draw('timeline-decision-target-paused.yaml');
    const second = await draw('timeline-decision-target-paused.yaml');
    expect(second).toBe(first);
    expect(first).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('is labelled for screen readers: a title and a description the svg names, the run in words', async () => {
    const svg = await draw('timeline-decision-target-paused.yaml');
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="cpor-timeline-title cpor-timeline-desc"/);
    expect(svg).toContain('<title id="cpor-timeline-title">Scenario timeline: Decision target pauses while the partner is asked for information</title>');
    const desc = /<desc id="cpor-timeline-desc">([^<]*)<\/desc>/.exec(svg)![1]!;
    expect(desc).toContain('partnerActionRequired from Wed Mar 18 10:00');
    expect(desc).toContain('Deadline decisionTarget started Mon Mar 16 10:00, due Tue Apr 7 00:00, paused Wed Mar 18 10:00 to Wed Mar 25 10:00, met at Tue Mar 31 11:00.');
  });

  it('draws each state as a band with its name, and hatches the time a deadline stood paused', async () => {
    const svg = await draw('timeline-decision-target-paused.yaml');
    for (const label of ['partnerActionRequired', 'underReview', 'approved · consentPending']) expect(svg).toContain(`>${label}</text>`);
    // One hatched rectangle for the pause, one in the legend.
    expect(elements(svg, 'rect').filter((a) => a.includes('url(#cpor-timeline-hatch)'))).toHaveLength(2);
    expect(svg).toContain('>due by end of Mon Apr 6</text>');
  });

  it('shades weekends and holidays of the policy calendar, in its time zone', async () => {
    const svg = await draw('deadline-thanksgiving-2026.yaml');
    const shaded = elements(svg, 'rect').filter((a) => /fill="#(f1f5f9|fce7f3)"/.test(a) && !a.includes('width="16"'));
    const holidays = shaded.filter((a) => a.includes('#fce7f3'));
    expect(holidays).toHaveLength(1);
    expect(svg).toContain('>holiday</text>');
    // Thursday 26 November: the fourth day of the picture, which starts on Monday 23.
    const dayLabels = [...svg.matchAll(/>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d+)<\/text>/g)].map((m) => m[1]);
    expect(dayLabels.slice(0, 4)).toEqual(['23', '24', '25', '26']);
    expect(shaded.length - holidays.length).toBe(5); // Sat 28, Sun 29, Sat 5, Sun 6, Sat 12
  });

  it('labels hours when the run spans a day or two, and only days when it spans weeks', async () => {
    expect(await draw('refuse-poe-limit-reached.yaml')).toContain('>12:00</text>');
    expect(await draw('deadline-thanksgiving-2026.yaml')).not.toContain('>12:00</text>');
  });

  it('marks each refused step with its event and code', async () => {
    const svg = await draw('partner-never-answers.yaml');
    expect(svg).toContain('>edit: fieldNotEditable</text>');
    expect(svg).toContain('>Refused steps</text>');
    expect(svg).toMatch(/<title>Tue Mar 10 03:00: edit by incentivesAdmin refused, fieldNotEditable: /);
  });

  it('escapes text, so a scenario name cannot break the markup', async () => {
    const svg = await draw('partner-never-answers.yaml', (t) => t.replace('name: Partner never answers a request for information', 'name: "<script>&\'x\'"'));
    expect(svg).toContain('&lt;script&gt;&amp;&apos;x&apos;');
    expect(svg).not.toContain('<script>');
  });
});
