/** `GET /v1/policies/current`: the user-facing parts of the policy in effect, for forms and explanations (any signed-in role). */
import { ACTIVITIES, BUSINESS_APPLICATIONS, STATE_IDS, WORKLOADS } from '../domain/claim-types';
import { preferredLanguage, statusTextOf, type Language } from './claim-outlook';
import type { HttpContext } from './context';
import type { RouteSpec } from './route-spec';
import { statusTextSchema } from './views';

/** The reference's dispute fields ("Dispute the status of a CPOR association claim"): which the claim gives, which the partner writes. */
const DISPUTE_FIELDS: ReadonlyArray<{ field: string; source: 'claim' | 'input'; label: Record<Language, string> }> = [
  { field: 'mpnId', source: 'claim', label: { en: 'MPN ID', de: 'MPN-ID' } },
  { field: 'program', source: 'input', label: { en: 'Incentive program name', de: 'Name des Incentive-Programms' } },
  { field: 'claimId', source: 'claim', label: { en: 'CPOR association claim ID', de: 'ID des CPOR-Zuordnungsantrags' } },
  {
    field: 'products',
    source: 'claim',
    label: {
      en: 'Products (Business Applications: Dynamics products and subscriptions; Microsoft 365: workloads)',
      de: 'Produkte (Business Applications: Dynamics-Produkte und Abonnements; Microsoft 365: Workloads)',
    },
  },
  { field: 'tenantId', source: 'claim', label: { en: 'Customer tenant ID', de: 'Mandanten-ID des Kunden' } },
  { field: 'details', source: 'input', label: { en: 'Details of the issue', de: 'Details des Problems' } },
];

const codeDescription = {
  type: 'object',
  required: ['code', 'description'],
  properties: { code: { type: 'string' }, description: { type: 'string' } },
} as const;

const currentPolicySchema = {
  type: 'object',
  required: ['id', 'version', 'name', 'effectiveAt', 'timeZone', 'roles', 'statuses', 'activities', 'productLines', 'rejectionReasons', 'deficiencyCodes', 'disputeFields', 'incentivePrograms', 'editableFields'],
  properties: {
    id: { type: 'string' },
    version: { type: 'string' },
    name: { type: 'string' },
    effectiveAt: { type: ['string', 'null'], format: 'date-time', description: 'In effect from this instant; null: since forever.' },
    timeZone: { type: 'string', description: 'The IANA time zone business days are counted in.' },
    roles: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind'],
        properties: { name: { type: 'string' }, kind: { enum: ['partner', 'reviewer', 'customer', 'internal'] }, description: { type: 'string' } },
      },
    },
    statuses: {
      type: 'array',
      description: 'Every status and substatus (`approved.consentPending`) with its texts in the language of Accept-Language (en, de).',
      items: { ...statusTextSchema, required: ['status', ...statusTextSchema.required], properties: { status: { type: 'string' }, ...statusTextSchema.properties } },
    },
    activities: { type: 'array', items: { type: 'string' } },
    productLines: {
      type: 'array',
      description: 'What a claim may name: Microsoft 365 workloads; Business Applications products (each with a subscription ID).',
      items: {
        type: 'object',
        required: ['line'],
        properties: {
          line: { enum: ['microsoft365', 'businessApplications'] },
          workloads: { type: 'array', items: { type: 'string' } },
          products: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    rejectionReasons: {
      type: 'array',
      items: { ...codeDescription, required: ['code', 'description', 'roles'], properties: { ...codeDescription.properties, roles: { type: 'array', items: { type: 'string' }, description: 'Roles that may give it (`system`: a deadline).' } } },
    },
    deficiencyCodes: { type: 'array', items: codeDescription },
    disputeFields: {
      type: 'array',
      description: "What a dispute carries (the program guide's list): `claim` fields come from the claim, `input` fields the partner writes.",
      items: {
        type: 'object',
        required: ['field', 'source', 'label'],
        properties: { field: { type: 'string' }, source: { enum: ['claim', 'input'] }, label: { type: 'string' } },
      },
    },
    incentivePrograms: {
      type: 'array',
      items: { type: 'object', required: ['code', 'name'], properties: { code: { type: 'string' }, name: { type: 'string' } } },
    },
    editableFields: {
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string' } },
      description: 'Claim fields partners may edit, per state.',
    },
  },
} as const;

export function policyCurrentRoutes(ctx: HttpContext): RouteSpec[] {
  const { deps } = ctx;
  return [
    {
      method: 'get',
      path: '/v1/policies/current',
      operationId: 'getCurrentPolicy',
      summary: 'The policy in effect, as people see it: roles, status texts, activities, products, reasons, deficiency codes, dispute fields',
      description:
        'No sign-in needed (the dashboard\'s sign-in page lists the roles from it; nothing here is per user). Texts in the language of Accept-Language (en or de; default en).',
      tag: 'policy',
      auth: false,
      responses: { 200: { description: 'The user-facing parts of the policy in effect', content: { 'application/json': currentPolicySchema } } },
      problems: [],
      handlers: [
        (req, res) => {
          const { policy } = deps.service.policy;
          const language = preferredLanguage(req.get('accept-language'));
          res.vary('Accept-Language');
          res.json({
            id: policy.id,
            version: policy.version,
            name: policy.name,
            effectiveAt: policy.effective ?? null,
            timeZone: policy.calendar.timeZone,
            roles: Object.entries(policy.roles).map(([name, role]) => ({ name, kind: role.kind, ...(role.description ? { description: role.description } : {}) })),
            statuses: STATE_IDS.map((status) => ({ status, ...statusTextOf([policy], status, language) })),
            activities: [...ACTIVITIES],
            productLines: [
              { line: 'microsoft365', workloads: [...WORKLOADS] },
              { line: 'businessApplications', products: [...BUSINESS_APPLICATIONS] },
            ],
            rejectionReasons: policy.rejectionReasons.map((r) => ({ code: r.code, description: r.description, roles: [...r.usableBy] })),
            deficiencyCodes: policy.deficiencies.map((d) => ({ code: d.code, description: d.description })),
            disputeFields: DISPUTE_FIELDS.map((f) => ({ field: f.field, source: f.source, label: f.label[language] })),
            incentivePrograms: policy.incentivePrograms.map((p) => ({ code: p.code, name: p.name })),
            editableFields: policy.editableFields,
          });
        },
      ],
    },
  ];
}
