import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/simulate/scenario';

const TEXT = readFileSync(join(import.meta.dirname, '..', '..', 'scenarios', 'partner-never-answers.yaml'), 'utf8');

function errorOf(text: string): string {
  const result = parseScenario(text, 's.yaml');
  if (result.ok) throw new Error('expected the scenario to be refused');
  return result.error;
}

describe('scenario file positions', () => {
  it('locates a bad value at the value itself', () => {
    expect(errorOf(TEXT.replace('name: Partner never answers a request for information', 'name: 7'))).toMatch(/^s\.yaml:1:7: \$\.name: /);
  });

  it('locates an unknown step field at the step that holds it', () => {
    expect(errorOf(TEXT.replace('    do: uploadPoe\n', '    do: uploadPoe\n    colour: red\n'))).toMatch(/^s\.yaml:12:5: \$\.steps\[1\]\.colour: unknown field "colour"/);
  });

  it('locates an impossible instant inside a flow step at the instant', () => {
    expect(errorOf(TEXT.replace('at: 2026-03-02T09:10:00Z', 'at: 2026-02-30T09:10:00Z'))).toMatch(/^s\.yaml:16:11: \$\.steps\[2\]\.at: is not a real instant/);
  });

  it('records the line of each step', () => {
    const result = parseScenario(TEXT, 's.yaml');
    if (!result.ok) throw new Error(result.error);
    expect(result.scenario.steps.map((step) => step.line)).toEqual([11, 12, 16, 17, 18, 22, 23]);
  });
});
