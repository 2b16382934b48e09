/**
 * The query tables derived from a claim record (deadlines, overdue flags, PoE documents,
 * disputes, product codes, search text), and what a change of the record changes in them: rows are
 * compared by their key, so a transition rewrites only the rows that differ.
 */
import type { ClaimRecord } from '../claims/claim-record';
import { searchTextOf } from '../claims/claim-search';
import { productRows } from './claim-rows';
import { overdueRows } from './overdue-marker';
import type { SqlRow } from './store-sql';

/** Each projection table with the columns that, beside claim_id, key its rows. */
export const PROJECTION_KEYS = {
  claim_deadlines: ['id'],
  claim_overdue: ['name'],
  poe_documents: ['id'],
  disputes: ['idx'],
  claim_products: ['product_code'],
  // One row per claim: its search text (migration 007), rewritten when the text changes.
  claim_search: ['claim_id'],
} as const satisfies Record<string, readonly string[]>;

export type ProjectionTable = keyof typeof PROJECTION_KEYS;
export type Projections = Record<ProjectionTable, SqlRow[]>;

/** Rows of the query tables derived from a claim record. */
export function projectionRows(claim: ClaimRecord): Projections {
  const { poe, disputes } = claim.snapshot.context;
  return {
    claim_deadlines: claim.deadlines.map((d) => ({
      claim_id: claim.id,
      id: d.id,
      name: d.name,
      status: d.status,
      started_at: d.startedAt,
      due: d.due,
      due_at: d.dueAt,
      ended_at: d.endedAt ?? null,
      lapsed: d.lapsed,
    })),
    // The overdue marker: the flags with the list filters' columns and created_at (overdue-marker.ts).
    claim_overdue: overdueRows(claim),
    poe_documents: poe.map((doc) => ({
      claim_id: claim.id,
      id: doc.id,
      file_name: doc.fileName,
      customer_signed: doc.customerSigned,
      signed_on: doc.signedOn ?? null,
      sha256: doc.sha256 ?? null,
      size: doc.size ?? null,
      content_type: doc.contentType ?? null,
      uploaded_at: doc.uploadedAt,
      uploaded_by: doc.uploadedBy,
    })),
    disputes: disputes.map((dispute, idx) => ({
      claim_id: claim.id,
      idx,
      program: dispute.program,
      details: dispute.details,
      raised_at: dispute.raisedAt,
      raised_by: dispute.raisedBy,
      outcome: dispute.resolution?.outcome ?? null,
      resolved_at: dispute.resolution?.at ?? null,
    })),
    claim_products: productRows(claim) as SqlRow[],
    claim_search: [{ claim_id: claim.id, search_text: searchTextOf(claim) }],
  };
}

/**
 * What to do to one projection table: rows whose key is gone (deleted), rows with a new key
 * (inserted), and rows whose key stays but whose other columns differ (changed, updated in place).
 */
export interface ProjectionChange {
  table: ProjectionTable;
  deleted: SqlRow[];
  inserted: SqlRow[];
  changed: Array<{ before: SqlRow; after: SqlRow }>;
}

const keyOf = (table: ProjectionTable, row: SqlRow) => JSON.stringify(PROJECTION_KEYS[table].map((column) => row[column]));
const sameRow = (a: SqlRow, b: SqlRow) => Object.keys(b).every((column) => a[column] === b[column]) && Object.keys(a).length === Object.keys(b).length;

/** The changes that turn the projections of `before` into those of `after` (the same claim); unchanged tables are left out. */
export function projectionChanges(before: Projections, after: Projections): ProjectionChange[] {
  const changes: ProjectionChange[] = [];
  for (const table of Object.keys(PROJECTION_KEYS) as ProjectionTable[]) {
    const old = new Map(before[table].map((row) => [keyOf(table, row), row]));
    const inserted: SqlRow[] = [];
    const changed: ProjectionChange['changed'] = [];
    for (const row of after[table]) {
      const key = keyOf(table, row);
      const was = old.get(key);
      old.delete(key);
      if (!was) inserted.push(row);
      else if (!sameRow(was, row)) changed.push({ before: was, after: row });
    }
    const deleted = [...old.values()];
    if (deleted.length > 0 || inserted.length > 0 || changed.length > 0) changes.push({ table, deleted, inserted, changed });
  }
  return changes;
}
