/**
 * Many stored claims with real histories, fast, for backtest tests and the bench: a few
 * dozen claims are driven through the claim service on a virtual clock (created, PoE,
 * submitted, reviewed, some asked for more information, some resubmitted; deadlines fired
 * up to `until`), then copied round-robin under new ids and creation instants straight
 * into a SQLite file (claims and history rows only: what a backtest reads).
 */
import type { Knex } from 'knex';
import { createClaimService } from '../../src/claims/claim-service';
import type { ClaimRecord, HistoryEntry } from '../../src/claims/claim-record';
import { createMemoryClaimStore } from '../../src/claims/memory-claim-store';
import { claimRow, historyRow } from '../../src/db/claim-rows';
import { createDatabase, migrateLatest } from '../../src/db/database';
import type { CompiledPolicy } from '../../src/policies/compiled-policy';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { claimFields } from './factories';

const PARTNER = { role: 'incentivesAdmin', partnerId: '4512345' };
const REVIEWER = { role: 'reviewer' };
const START = Date.parse('2026-03-02T17:00:00Z');
/** After every template's deadlines: the backtest's `until`. */
export const BACKTEST_SEED_UNTIL = new Date('2026-12-31T00:00:00Z');

/** Distinct claim histories the copies are made from. */
const TEMPLATES = 48;

async function templates(policy: CompiledPolicy): Promise<Array<{ record: ClaimRecord; history: HistoryEntry[] }>> {
  const clock = createVirtualClock(new Date(START));
  const memory = createMemoryClaimStore();
  const service = createClaimService({ store: memory, policy, clock, ids: createSequentialIds() });
  const workloads = ['teams', 'exchange', 'sharePoint', 'intune'] as const;
  for (let i = 0; i < TEMPLATES; i++) {
    clock.set(new Date(START + i * 3_600_000));
    const workload = workloads[i % workloads.length]!;
    const fields = claimFields({ partnerId: PARTNER.partnerId, mpnId: PARTNER.partnerId });
    const { claim } = await service.create(PARTNER, { ...fields, activity: i % 3 === 0 ? 'usage' : 'deployment', products: [{ line: 'microsoft365', workload }] });
    if (i % 12 === 11) continue; // left in editing
    await service.act(claim.id, 'uploadPoe', PARTNER, { fileName: 'sow.pdf', customerSigned: i % 7 !== 0, signedOn: '2026-02-20', products: [workload], describesWork: true });
    await service.act(claim.id, 'submit', PARTNER, {});
    if (i % 6 === 5) continue; // waiting for review
    await service.act(claim.id, 'startReview', REVIEWER, {});
    if (i % 4 === 0) {
      await service.act(claim.id, 'requestInfo', REVIEWER, { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Signature page?' });
      if (i % 8 === 0) await service.act(claim.id, 'resubmit', PARTNER, {});
    } else {
      await service.act(claim.id, 'approve', REVIEWER, {});
    }
  }
  clock.set(BACKTEST_SEED_UNTIL);
  await service.fireDue();
  const ids = await memory.allClaimIds();
  return Promise.all(ids.map(async (id) => ({ record: (await memory.getClaim(id))!, history: await memory.listHistory(id) })));
}

/** Writes `count` claims (ids bt-0000000 …, copies of the templates' records and histories) into a migrated SQLite database under `dataDir`. */
export async function seedBacktestDatabase(policy: CompiledPolicy, count: number, dataDir: string): Promise<{ knex: Knex }> {
  const sources = await templates(policy);
  const knex = createDatabase({ dataDir });
  await migrateLatest(knex);
  const CHUNK = 500;
  for (let start = 0; start < count; start += CHUNK) {
    const claims: object[] = [];
    const rows: object[] = [];
    for (let i = start; i < Math.min(count, start + CHUNK); i++) {
      const source = sources[i % sources.length]!;
      const id = `bt-${String(i).padStart(7, '0')}`;
      claims.push(claimRow({ ...source.record, id }));
      for (const entry of source.history) {
        rows.push(historyRow({ ...entry, claimId: id, ...(entry.refs?.claimId ? { refs: { ...entry.refs, claimId: id } } : {}) }));
      }
    }
    await knex.transaction(async (trx) => {
      for (let i = 0; i < claims.length; i += 100) await trx('claims').insert(claims.slice(i, i + 100));
      for (let i = 0; i < rows.length; i += 100) await trx('claim_history').insert(rows.slice(i, i + 100));
    });
  }
  return { knex };
}
