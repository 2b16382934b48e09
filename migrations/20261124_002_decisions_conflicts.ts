/**
 * The decision log (`decisions`: every transition, refusal, deadline firing and
 * stateless evaluation, with its policy, input digest, result and the rules that
 * fired) and the `claim_products` projection that finds overlapping claims
 * (conflicts). Times are ISO-8601 UTC strings, JSON is text, as in 001. Claims stored
 * before this migration get their `claim_products` rows here. Never edit this file
 * once it has landed: add a new migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('decisions', (t) => {
    // Insertion order is the log's order (a claim's writers are serialised by its row lock).
    t.bigIncrements('id');
    // No foreign key: evaluations may name a claim that is not stored, and refusals of create none.
    t.string('claim_id').nullable();
    t.string('at').notNullable();
    t.string('kind').notNullable();
    t.string('policy_id').notNullable();
    t.string('policy_version').notNullable();
    t.string('input_digest').notNullable();
    t.text('result').notNullable();
    t.text('rules_fired').notNullable();
    t.index(['claim_id', 'id'], 'decisions_claim_id_id_idx');
  });

  await knex.schema.createTable('claim_products', (t) => {
    t.string('claim_id').notNullable().references('id').inTable('claims');
    // Lower-cased: tenant IDs are GUIDs, compared without case.
    t.string('tenant_id').notNullable();
    t.string('partner_id').notNullable();
    // A workload, a Business Applications product, or `subscription:<id>`.
    t.string('product_code').notNullable();
    t.string('status').notNullable();
    // The machine state (`approved.consentPending`): what the policy's activeStatuses select.
    t.string('state').notNullable();
    t.primary(['claim_id', 'product_code']);
    t.index(['tenant_id', 'product_code', 'state'], 'claim_products_tenant_product_state_idx');
  });

  await backfillClaimProducts(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('claim_products');
  await knex.schema.dropTableIfExists('decisions');
}

interface StoredClaim {
  id: string;
  status: string;
  state: string;
  partner_id: string | null;
  tenant_id: string | null;
  data: string;
}

type StoredProduct = { line: 'microsoft365'; workload: string } | { line: 'businessApplications'; product: string; subscriptionId: string };

/** The claim_products rows of the claims already stored, as the store writes them (a frozen copy of its rule). */
async function backfillClaimProducts(knex: Knex): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const query = knex('claims').select('id', 'status', 'state', 'partner_id', 'tenant_id', 'data').orderBy('id').limit(200);
    if (after !== null) query.where('id', '>', after);
    const claims: StoredClaim[] = await query;
    if (claims.length === 0) return;
    after = claims[claims.length - 1]!.id;
    const rows = claims.flatMap((claim) => {
      if (!claim.partner_id || !claim.tenant_id) return [];
      const record = JSON.parse(claim.data) as { snapshot?: { context?: { fields?: { products?: StoredProduct[] } } } };
      const codes = new Set<string>();
      for (const product of record.snapshot?.context?.fields?.products ?? []) {
        if (product.line === 'microsoft365') codes.add(product.workload);
        else {
          codes.add(product.product);
          codes.add(`subscription:${product.subscriptionId.toLowerCase()}`);
        }
      }
      return [...codes].map((code) => ({
        claim_id: claim.id,
        tenant_id: claim.tenant_id!.toLowerCase(),
        partner_id: claim.partner_id!,
        product_code: code,
        status: claim.status,
        state: claim.state,
      }));
    });
    for (let i = 0; i < rows.length; i += 100) await knex('claim_products').insert(rows.slice(i, i + 100));
  }
}
