/** The API's types the dashboard uses, by name: all from schema.d.ts (generated from /openapi.json). */
import type { components, paths } from './schema';

type Schemas = components['schemas'];
/** The JSON body of a response (or request body) type of schema.d.ts. */
export type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type AuthConfig = Json<paths['/v1/auth/config']['get']['responses'][200]>;
export type PolicyView = Json<paths['/v1/policies/current']['get']['responses'][200]>;
export type RoleKind = PolicyView['roles'][number]['kind'];
export type Claim = Schemas['Claim'];
export type DeadlineView = Claim['deadlines'][number];
export type ActionView = NonNullable<Claim['actions']>[number];
export type Deficiency = Claim['deficiencies'][number];
export type Problem = Schemas['Problem'];
export type PoeDocument = Schemas['PoeDocument'];
export type HistoryEntry = Schemas['HistoryEntry'];
export type Comment = Schemas['Comment'];
export type Product = Schemas['Product'];
export type ClaimFields = Schemas['ClaimFields'];

// The policy console's reports and runs.
export type SlaReport = Json<paths['/v1/reports/sla']['get']['responses'][200]>;
export type SlaRow = SlaReport['deadlines'][number];
export type AssessmentRow = Json<paths['/v1/reports/assessment']['get']['responses'][200]>['items'][number];
export type DecisionPage = Json<paths['/v1/decisions']['get']['responses'][200]>;
export type Decision = DecisionPage['items'][number];
export type ShadowVersion = Json<paths['/v1/reports/shadow']['get']['responses'][200]>['versions'][number];
export type BundledScenario = Json<paths['/v1/scenarios']['get']['responses'][200]>['scenarios'][number];
