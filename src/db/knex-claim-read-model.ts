/**
 * The claims' read model on knex: the queries behind the API's lists (claims by status,
 * tenant, partner, overdue deadline or conflict; overlaps; the outbox; the decision log;
 * comments), over the projection tables the write store keeps in the claim's transaction.
 */
import type { Knex } from 'knex';
import type { ClaimFilter, ClaimStore } from '../claims/claim-store';
import { searchNeedle } from '../claims/claim-search';
import { productCodesOf } from '../claims/conflicts';
import { tenantKey } from '../domain/tenant-id';
import type { ClaimComment } from './claim-comments';
import {
  DECISION_COLUMNS,
  leafStatesOf,
  outboxOrder,
  productRows,
  toClaim,
  toComment,
  toDecision,
  toOutbox,
  type ClaimRow,
  type CommentRow,
  type DecisionRow,
  type OutboxRow,
  isPostgres,
} from './claim-rows';

/** FTS5's trigram tokenizer indexes three characters at a time: shorter queries scan claim_search. */
const TRIGRAM = 3;
/**
 * SQLite: how many claims, in list order, a search checks one by one before it asks the trigram
 * index. The index answers "which claims", not "which first": a query that most claims match
 * (a common name) would sort every match, while these first claims fill its page at once.
 */
const WALK_FIRST = 2000;

type Where = (builder: Knex.QueryBuilder) => Knex.QueryBuilder;

/**
 * Claims whose search text (src/claims/claim-search.ts) contains `q` without regard to case,
 * through the substring index of migration 007: on PostgreSQL `like '%q%'` (LIKE's wildcards in
 * `q` escaped) on claim_search, which pg_trgm's GIN index serves (the planner weighs it against
 * walking the list order); on SQLite a trigram phrase MATCH on claim_search_fts (queries of three
 * characters or more), after checking the first WALK_FIRST claims in list order (`walk`).
 */
function searchOf(knex: Knex, q: string): { indexed: Where; walk: Where; walkFirst: boolean } {
  const needle = searchNeedle(q);
  const none: Where = (builder) => builder.whereRaw('1 = 0');
  if (needle === undefined) return { indexed: none, walk: none, walkFirst: false };
  const like = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const walk: Where = (builder) =>
    builder.whereExists((sub) =>
      sub.select(knex.raw('1')).from('claim_search').where('claim_search.claim_id', knex.ref('claims.id')).whereRaw("search_text like ? escape '\\'", [like]),
    );
  if (isPostgres(knex)) {
    return { indexed: (builder) => builder.whereIn('claims.id', knex('claim_search').select('claim_id').whereRaw("search_text like ? escape '\\'", [like])), walk, walkFirst: false };
  }
  if ([...needle].length < TRIGRAM) return { indexed: walk, walk, walkFirst: false };
  // A phrase: the query's trigrams in a row, i.e. the substring (quotes doubled inside).
  const phrase = `"${needle.replaceAll('"', '""')}"`;
  const indexed: Where = (builder) =>
    builder.whereIn('claims.id', knex('claim_search').select('claim_id').whereRaw('row in (select rowid from claim_search_fts where claim_search_fts match ?)', [phrase]));
  return { indexed, walk, walkFirst: true };
}

/** The store's queries (as opposed to its writes): what the routes list and page through. */
export interface ClaimReadModel extends Pick<ClaimStore, 'listClaims' | 'findOverlaps' | 'listOutbox' | 'listDecisions' | 'pageDecisions' | 'pageAllDecisions'> {
  /** The claim's comments, oldest first. */
  listComments(claimId: string): Promise<ClaimComment[]>;
}

/**
 * Conflict markers (claim_conflicts, kept by the write store) of claims conflicted under
 * `leaves`: the claim's state and one of its rivals' states among them.
 */
function conflictedMarkers(query: Knex.QueryBuilder, leaves: readonly string[]) {
  if (leaves.length === 0) return query.whereRaw('1 = 0');
  // The state: equalities joined by OR, which the planners estimate from the column's statistics
  // (a LIKE pattern built from the column, which this was, PostgreSQL guesses at 0.5% of the rows:
  // at mid depth it then read every marker after the cursor, joined and sorted them), and which,
  // unlike an IN, PostgreSQL never makes an index condition that gives up the index's order: it
  // checks them on each entry as it reads the index in the cursor's order.
  return query
    .where((any) => {
      for (const leaf of leaves) any.orWhere('claim_conflicts.state', leaf);
    })
    .where((any) => {
      // States hold no LIKE wildcards (letters and dots).
      for (const leaf of leaves) any.orWhere('claim_conflicts.rival_states', 'like', `%|${leaf}|%`);
    });
}

/** The read model over `knex`. */
export function createKnexClaimReadModel(knex: Knex): ClaimReadModel {
  const pageDecisions: ClaimStore['pageDecisions'] = async (claimId, { kind, after, limit }) => {
    // Insertion order (the id) is the log's order; (claim_id, kind, id) and (claim_id, id) serve both filters.
    const query = knex('decisions').select('id', ...DECISION_COLUMNS).where({ claim_id: claimId });
    if (kind !== undefined) query.where('kind', kind);
    if (after !== undefined) query.where('id', '>', after);
    const rows: Array<DecisionRow & { id: number | string }> = await query.orderBy('id').limit(limit);
    return rows.map((row) => ({ seq: Number(row.id), record: toDecision(row) }));
  };

  const pageAllDecisions: ClaimStore['pageAllDecisions'] = async ({ kind, after, limit }) => {
    // The (kind, id) index (migration 009) serves a kind; the primary key the whole log.
    const query = knex('decisions').select('id', ...DECISION_COLUMNS);
    if (kind !== undefined) query.where('kind', kind);
    if (after !== undefined) query.where('id', '>', after);
    const rows: Array<DecisionRow & { id: number | string }> = await query.orderBy('id').limit(limit);
    return rows.map((row) => ({ seq: Number(row.id), record: toDecision(row) }));
  };

  return {
    async listClaims(filter: ClaimFilter) {
      const leaves = filter.conflict && leafStatesOf(filter.conflict.activeStatuses);
      // The table a page is read from, in the cursor's order (each has an index ending in created_at and the claim's id):
      // overdue claims from their marker, which holds the other filters' columns too; conflicted ones from theirs; else the claims.
      const order = filter.overdue !== undefined ? 'claim_overdue' : filter.conflict?.conflicted === true ? 'claim_conflicts' : 'claims';
      const key = order === 'claims' ? 'id' : 'claim_id';
      const scope = order === 'claim_overdue' ? 'claim_overdue' : 'claims';
      /** The claims that pass every filter but `q`. */
      const filtered = () => {
        const query: Knex.QueryBuilder = order === 'claims' ? knex('claims') : knex(order).join('claims', 'claims.id', `${order}.claim_id`);
        if (order === 'claim_overdue') query.where('claim_overdue.name', filter.overdue!);
        if (order === 'claim_conflicts') conflictedMarkers(query, leaves!);
        if (filter.status) query.where(`${scope}.status`, filter.status);
        if (filter.tenantId) query.where(`${scope}.tenant_id`, tenantKey(filter.tenantId));
        if (filter.partnerId) query.where(`${scope}.partner_id`, filter.partnerId);
        if (filter.conflict && order !== 'claim_conflicts') {
          const markers = (sub: Knex.QueryBuilder) => conflictedMarkers(sub.select(knex.raw('1')).from('claim_conflicts').where('claim_conflicts.claim_id', knex.ref('claims.id')), leaves!);
          if (filter.conflict.conflicted) query.whereExists(markers);
          else query.whereNotExists(markers);
        }
        if (filter.after) {
          const { createdAt, id } = filter.after;
          // A row value, not `created_at > ? or (created_at = ? and id > ?)`: only the row value bounds
          // the index scan (the indexes of migrations 006, 008 and 010 end in created_at and the id), so a
          // page at depth 90,000 reads a page of rows, not the 90,000 before it.
          query.whereRaw('(??, ??) > (?, ?)', [`${order}.created_at`, `${order}.${key}`, createdAt, id]);
        }
        return query;
      };
      const inOrder = (query: Knex.QueryBuilder, limit: number, table: string = order, column: string = key) =>
        query.orderBy([{ column: `${table}.created_at` }, { column: `${table}.${column}` }]).limit(limit);
      const rowsOf = async (query: Knex.QueryBuilder) => ((await query) as ClaimRow[]).map(toClaim);
      const page = (query: Knex.QueryBuilder) => rowsOf(inOrder(query.select('claims.id', 'claims.version', 'claims.data'), filter.limit));
      if (!filter.q) return page(filtered());
      const search = searchOf(knex, filter.q);
      if (search.walkFirst) {
        // A common query fills its page among the first claims in list order: try those first. The
        // first WALK_FIRST keys after the cursor, read in order from the list index as the outer
        // query asks for them (a co-routine: no sort, nothing read ahead), each checked on its search
        // text until the page is full; so a page found among the first claims costs the page.
        const first = inOrder(filtered().select(`${order}.created_at as created_at`, `${order}.${key} as id`), WALK_FIRST).as('walk');
        const walked = await rowsOf(
          inOrder(knex.from(first).join('claims', 'claims.id', 'walk.id').select('claims.id', 'claims.version', 'claims.data').where(search.walk), filter.limit, 'walk', 'id'),
        );
        if (walked.length >= filter.limit) return walked;
      }
      return page(filtered().where(search.indexed));
    },

    async findOverlaps(claim, activeStatuses) {
      const [row] = productRows(claim);
      const codes = productCodesOf(claim.snapshot.context.fields);
      const leaves = leafStatesOf(activeStatuses);
      if (!row || codes.length === 0 || leaves.length === 0) return [];
      const rows: ClaimRow[] = await knex('claims')
        .select('id', 'version', 'data')
        .whereIn(
          'id',
          knex('claim_products')
            .distinct('claim_id')
            .where('tenant_id', row.tenant_id)
            .whereIn('product_code', codes)
            .whereIn('state', leaves)
            .whereNot('partner_id', row.partner_id)
            .whereNot('claim_id', claim.id),
        )
        .orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map(toClaim);
    },

    async listOutbox(filter) {
      const query = knex('outbox').select('*');
      if (filter.claimId) query.where('claim_id', filter.claimId);
      if (filter.status) query.where('status', filter.status);
      const rows: OutboxRow[] = await outboxOrder(query).limit(filter.limit);
      return rows.map(toOutbox);
    },

    async listDecisions(claimId, limit) {
      return (await pageDecisions(claimId, { limit })).map((d) => d.record);
    },

    async listComments(claimId) {
      const rows: CommentRow[] = await knex('comments').select('*').where({ claim_id: claimId }).orderBy('seq');
      return rows.map(toComment);
    },

    pageDecisions,
    pageAllDecisions,
  };
}
