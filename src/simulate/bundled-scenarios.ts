/** The scenario files shipped with the service (`scenarios/*.yaml`): their text, name and description, read once. */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from './policy-files';
import { parseScenario, type Scenario } from './scenario';

export interface BundledScenario {
  /** The file name (`timeline-decision-target-paused.yaml`). */
  file: string;
  name: string;
  description: string | null;
  /** The file's text, as `cpor simulate` reads it. */
  yaml: string;
  scenario: Scenario;
}

/** Where the bundled scenarios are: the project's scenarios/ folder. */
const BUNDLED_SCENARIO_DIR = resolve(PACKAGE_ROOT, 'scenarios');

const loaded = new Map<string, Promise<BundledScenario[]>>();

/** Every scenario file of the folder that parses, sorted by file name (a broken one is left out: `cpor test` reports it). */
export function loadBundledScenarios(dir: string = BUNDLED_SCENARIO_DIR): Promise<BundledScenario[]> {
  let scenarios = loaded.get(dir);
  if (!scenarios) {
    scenarios = readScenarios(dir);
    // A folder that could not be read is read again next time.
    scenarios.catch(() => loaded.delete(dir));
    loaded.set(dir, scenarios);
  }
  return scenarios;
}

async function readScenarios(dir: string): Promise<BundledScenario[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const scenarios: BundledScenario[] = [];
  for (const file of files) {
    const yaml = await readFile(join(dir, file), 'utf8');
    const parsed = parseScenario(yaml, file);
    if (!parsed.ok) continue;
    const { name, description } = parsed.scenario;
    scenarios.push({ file, name, description: description ?? null, yaml, scenario: parsed.scenario });
  }
  return scenarios;
}
