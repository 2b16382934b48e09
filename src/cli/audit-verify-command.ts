/** `cpor audit verify`: checks every claim's history chain in the service's database. */
import { verifyChain } from '../claims/history-chain';
import { createKnexClaimStore } from '../db/knex-claim-store';
import type { Output } from './output';
import { configOrExplain, openExistingDatabase } from './service-config';

export async function auditVerifyCommand(options: { claimId?: string }, out: Output): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  const opened = await openExistingDatabase(config);
  if ('problem' in opened) {
    out.stderr(`cpor audit verify: ${opened.problem}\n`);
    return 1;
  }
  const { knex } = opened;
  try {
    const store = createKnexClaimStore(knex);
    if (options.claimId !== undefined && !(await store.getClaim(options.claimId))) {
      out.stderr(`cpor audit verify: claim ${options.claimId} does not exist\n`);
      return 1;
    }
    const ids = options.claimId !== undefined ? [options.claimId] : await store.allClaimIds();
    let broken = 0;
    let entries = 0;
    for (const id of ids) {
      const rows = await store.readHistoryForAudit(id);
      const verdict = verifyChain(rows.map((r) => r.entry));
      entries += verdict.entries;
      // The chain covers the entry; the columns beside it (for queries) must say the same.
      const edited = rows.find((r) => r.columnMismatch !== null);
      const first = [
        verdict.ok ? undefined : { seq: verdict.seq, problem: verdict.problem },
        edited ? { seq: edited.entry.seq, problem: `column ${edited.columnMismatch} differs from the hashed entry (it was edited)` } : undefined,
      ]
        .filter((x): x is { seq: number; problem: string } => x !== undefined)
        .sort((a, b) => a.seq - b.seq)[0];
      if (first) {
        broken += 1;
        out.stdout(`claim ${id}: entry ${first.seq} broken: ${first.problem}\n`);
      }
    }
    out.stdout(`${ids.length} claims, ${entries} history entries checked: ${broken === 0 ? 'every chain holds' : `${broken} broken`}\n`);
    return broken === 0 ? 0 : 1;
  } finally {
    await knex.destroy();
  }
}
