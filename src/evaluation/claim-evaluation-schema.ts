/** JSON Schema of an evaluation's answer (POST /v1/evaluate, `cpor evaluate`). */

const explained = {
  explanation: { type: 'object', description: 'The rule\'s conditions, each with the fact value seen and whether it held.' },
  summary: { type: 'string', description: 'The explanation in one sentence.' },
} as const;

/** The answer, as documented in /openapi.json; `ClaimEvaluation` (evaluate-claim.ts) fits it (a type-level test checks). */
export const claimEvaluationSchema = {
  type: 'object',
  required: [
    'policy',
    'asOf',
    'status',
    'substatus',
    'allowedEvents',
    'blockedEvents',
    'editableFields',
    'deficiencies',
    'submissionRequirements',
    'deadlines',
    'overdue',
    'eligibility',
    'rulesFired',
  ],
  properties: {
    policy: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } },
    asOf: { type: 'string', format: 'date-time' },
    status: { type: 'string' },
    substatus: { type: ['string', 'null'] },
    allowedEvents: {
      type: 'array',
      description: 'Events possible now, with the roles the policy lets send them (claim ownership aside).',
      items: { type: 'object', properties: { event: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } } },
    },
    blockedEvents: {
      type: 'array',
      description: 'Events some role could send in this state, blocked now, with the reason.',
      items: { type: 'object', properties: { event: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } },
    },
    editableFields: { type: 'array', items: { type: 'string' } },
    deficiencies: {
      type: 'array',
      items: { type: 'object', properties: { code: { type: 'string' }, description: { type: 'string' }, found: { type: 'boolean' }, ...explained } },
    },
    submissionRequirements: {
      type: 'object',
      properties: {
        passed: { type: 'boolean' },
        results: {
          type: 'array',
          items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, passed: { type: 'boolean' }, ...explained } },
        },
      },
    },
    deadlines: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          startedAt: { type: 'string' },
          due: { type: 'string', description: 'Local due date: the last whole day the party has.' },
          dueAt: { type: 'string', description: 'Instant it falls due.' },
          status: { type: 'string' },
          overdue: { type: 'boolean' },
        },
      },
    },
    overdue: { type: 'array', items: { type: 'string' } },
    eligibility: {
      type: 'array',
      items: {
        type: 'object',
        properties: { program: { type: 'string' }, name: { type: 'string' }, eligible: { type: 'boolean' }, illustrative: { type: 'boolean' }, ...explained },
      },
    },
    event: {
      type: 'object',
      description: 'What the event in the request would do now (nothing is applied).',
      properties: {
        type: { type: 'string' },
        allowed: { type: 'boolean' },
        refusal: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, path: { type: 'string' } } },
        to: { type: 'string' },
      },
    },
    rulesFired: { type: 'array', items: { type: 'string' }, description: 'Codes of the rules that matched.' },
  },
} as const;
