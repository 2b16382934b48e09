/**
 * What the dashboard reads beyond the claim view of schema.d.ts: the issue-10 API additions
 * (the contract shared with the API's branch). Each type is the API's, as /openapi.json
 * documents it once the API publishes it; until then the fields are optional, so an older
 * service degrades to what it has instead of breaking the page.
 */
import type { components, paths } from './schema';

type Schemas = components['schemas'];

export type RoleKind = 'partner' | 'reviewer' | 'customer' | 'internal';

export type AuthConfig = paths['/v1/auth/config']['get']['responses'][200]['content']['application/json'];

export interface DeadlineView {
  name: string;
  startedAt?: string;
  due?: string;
  dueAt?: string;
  status?: string;
  paused?: boolean;
  businessDaysLeft?: number;
  hoursLeft?: number;
  atRisk?: boolean;
  overdue?: boolean;
}

export interface StatusText {
  title: string;
  meaning: string;
  next: string;
}

export interface ActionView {
  event: string;
  allowed: boolean;
  reason?: string;
  code?: string;
}

export interface Deficiency {
  code: string;
  description: string;
}

export type Claim = Omit<Schemas['Claim'], 'deadlines' | 'deficiencies'> & {
  deadlines: DeadlineView[];
  /** Codes (older services) or codes with descriptions. */
  deficiencies?: Array<string | Deficiency>;
  statusText?: StatusText;
  actions?: ActionView[];
  editableFields?: string[];
  timeZone?: string;
  disputeWindow?: { open: boolean; daysLeft: number };
  settlement?: unknown;
};

export type Problem = Schemas['Problem'];
export type PoeDocument = Schemas['PoeDocument'];
export type HistoryEntry = Schemas['HistoryEntry'];
export type Comment = Schemas['Comment'];
export type Product = Schemas['Product'];
export type ClaimFields = Schemas['ClaimFields'];

export interface PolicyView {
  version: string;
  effectiveAt?: string;
  timeZone?: string;
  roles: Array<{ name: string; kind: RoleKind }>;
  statuses: Array<{ status: string; title: string; meaning: string; next: string }>;
  activities: string[];
  productLines: Array<{ line: string; title?: string; workloads?: string[]; products?: string[] }>;
  rejectionReasons: Array<{ code: string; description: string; roles: string[] }>;
  deficiencyCodes: Deficiency[];
  disputeFields?: unknown;
}
