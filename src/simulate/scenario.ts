/** Scenario files (DESIGN.md, "Scenario files"): their schema, type and loader. */
import { readFile } from 'node:fs/promises';
import type { FromSchema } from 'json-schema-to-ts';
import { LineCounter, parseDocument } from 'yaml';
import { EVENT_TYPES, STATUSES, SUBSTATUSES } from '../domain/claim-types';
import { describeWithValue, namedValidator, type ValidatorOptions } from '../domain/json-schema';
import { offsetOfPath, segmentsOfPointer } from '../domain/yaml-locate';
import { SYSTEM_ROLE } from '../rules/policy-types';

const instant = {
  type: 'string',
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'A real instant with a zone, years 1970 to 9999, offsets within ±18:00.',
} as const;

/** `system` acts only through deadlines (DESIGN.md): no step may act as it. */
const notSystem = { not: { const: SYSTEM_ROLE } } as const;

const actorSchema = {
  description: 'A role name, or an actor; never `system`, which acts only through deadlines.',
  oneOf: [
    { type: 'string', minLength: 1, ...notSystem },
    {
      type: 'object',
      additionalProperties: false,
      required: ['role'],
      properties: {
        role: { type: 'string', minLength: 1, ...notSystem },
        partnerId: { type: 'string' },
        tenantId: { type: 'string' },
        id: { type: 'string' },
      },
    },
  ],
} as const;

const outcomeExpectations = {
  status: { enum: STATUSES },
  substatus: { enum: [...SUBSTATUSES, null] },
  reason: { type: ['string', 'null'] },
  overdue: { type: 'array', items: { type: 'string' } },
  deficiencies: { type: 'array', items: { type: 'string' } },
  eligible: { type: 'array', items: { type: 'string' } },
  deadlines: {
    type: 'object',
    additionalProperties: { enum: ['fired', 'met', 'pending'] },
    description: 'Outcome of the latest run of each named deadline.',
  },
} as const;

/** Most steps a scenario may have (each may fire deadlines): simulations stay bounded. */
const MAX_SCENARIO_STEPS = 500;

export const scenarioSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'steps'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    policy: { type: 'string', minLength: 1 },
    claim: { type: 'object' },
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_SCENARIO_STEPS,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['at', 'by', 'do'],
            properties: {
              at: instant,
              by: actorSchema,
              do: { enum: EVENT_TYPES },
              with: { type: 'object' },
              expect: {
                type: 'object',
                additionalProperties: false,
                properties: { refused: { type: ['boolean', 'string'] }, ...outcomeExpectations },
              },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['until'],
            properties: {
              until: instant,
              expect: { type: 'object', additionalProperties: false, properties: outcomeExpectations },
            },
          },
        ],
      },
    },
    expect: { type: 'object', additionalProperties: false, properties: outcomeExpectations },
  },
} as const;

/** A scenario as its file says it (YAML, or the JSON body of POST /v1/simulate). */
export type ScenarioFile = FromSchema<typeof scenarioSchema>;

/** A step, with the line it starts on in its file (0 when it came from no file). */
export type ScenarioStep = ScenarioFile['steps'][number] & { line: number };
/** Who acts in a step: a role name, or an actor. */
export type ScenarioActor = Extract<ScenarioStep, { by: unknown }>['by'];
/** What a step or the scenario expects of the claim's outcome. */
export type OutcomeExpectation = NonNullable<ScenarioFile['expect']>;

export type Scenario = Omit<ScenarioFile, 'steps'> & { steps: ScenarioStep[] };

/** The scenario a file holds, each step with its line (`lineOf(index)`). */
export function withLines(file: ScenarioFile, lineOf: (index: number) => number): Scenario {
  return { ...file, steps: file.steps.map((step, index) => ({ ...step, line: lineOf(index) })) };
}

export type ScenarioLoadResult = { ok: true; scenario: Scenario } | { ok: false; error: string };

/** The options the scenario validator is compiled with (here, or ahead of time by the build: scripts/ajv-schemas.ts). */
export const SCENARIO_VALIDATOR_OPTIONS: ValidatorOptions = { allErrors: false };

const validate = namedValidator<ScenarioFile>('scenario', scenarioSchema, SCENARIO_VALIDATOR_OPTIONS);

/** Parses a scenario file's text; errors name the file and line. */
export function parseScenario(text: string, file: string): ScenarioLoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const pos = lineCounter.linePos(error.pos[0]);
    return { ok: false, error: `${file}:${pos.line}:${pos.col}: ${error.message.split('\n')[0]}` };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const [systemStep] = systemActorIssues(data);
  if (systemStep) {
    const pos = lineCounter.linePos(offsetOfPath(doc, segmentsOfPointer(systemStep.pointer), 'value'));
    return { ok: false, error: `${file}:${pos.line}:${pos.col}: ${systemStep.path}: ${systemStep.message}` };
  }
  if (!validate(data)) {
    const error = validate.errors?.[0];
    const issue = describeWithValue(error, data);
    const pos = lineCounter.linePos(offsetOfPath(doc, segmentsOfPointer(error?.instancePath ?? ''), 'value'));
    return { ok: false, error: `${file}:${pos.line}:${pos.col}: ${issue.path}: ${issue.message}` };
  }
  return { ok: true, scenario: withLines(data, (index) => lineCounter.linePos(offsetOfPath(doc, ['steps', index], 'value')).line) };
}

export async function loadScenarioFile(file: string): Promise<ScenarioLoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, error: `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  return parseScenario(text, file);
}

/** Steps that act as `system` (refused: it acts only through deadlines), located. */
export function systemActorIssues(data: unknown): Array<{ path: string; pointer: string; message: string }> {
  const steps = (data as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  const issues: Array<{ path: string; pointer: string; message: string }> = [];
  steps.forEach((step: unknown, index) => {
    const by = (step as { by?: unknown } | null)?.by;
    const role = typeof by === 'string' ? by : (by as { role?: unknown } | null)?.role;
    if (role !== SYSTEM_ROLE) return;
    const nested = typeof by !== 'string';
    issues.push({
      path: `$.steps[${index}].by${nested ? '.role' : ''}`,
      pointer: `/steps/${index}/by${nested ? '/role' : ''}`,
      message: 'a step cannot act as system: system acts only through deadlines (onDue), when they fall due',
    });
  });
  return issues;
}
