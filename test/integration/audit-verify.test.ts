import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli';
import { createClaimService } from '../../src/claims/claim-service';
import { createDatabase, migrateLatest } from '../../src/db/database';
import { createKnexClaimStore } from '../../src/db/knex-claim-store';
import { createSequentialIds, createVirtualClock } from '../../src/simulate/run-scenario';
import { compiledBundledPolicy } from '../support/bundled-policy';
import { ACTORS, claimFields, poePayload } from '../support/factories';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';

const PARTNER = ACTORS.partner;
const POE = poePayload();

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let dataDir: string;
  const saved = { DATA_DIR: process.env.DATA_DIR, DATABASE_URL: process.env.DATABASE_URL };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cpor-audit-'));
    process.env.DATA_DIR = dataDir;
    const { DATABASE_URL } = await db.serviceEnv();
    if (DATABASE_URL) process.env.DATABASE_URL = DATABASE_URL;
    else delete process.env.DATABASE_URL;
    const knex = createDatabase({ dataDir, databaseUrl: process.env.DATABASE_URL });
    await migrateLatest(knex);
    const service = createClaimService({
      store: createKnexClaimStore(knex),
      policy: await compiledBundledPolicy(),
      clock: createVirtualClock(new Date('2026-03-02T17:00:00Z')),
      ids: createSequentialIds(),
    });
    for (let i = 0; i < 3; i++) {
      const { claim } = await service.create(PARTNER, claimFields());
      await service.act(claim.id, 'uploadPoe', PARTNER, POE);
      await service.act(claim.id, 'submit', PARTNER, {});
    }
    await knex.destroy();
  });

  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  async function audit() {
    let stdout = '';
    const code = await main(['audit', 'verify'], { stdout: (s) => (stdout += s), stderr: (s) => (stdout += s) });
    return { code, stdout };
  }

  async function tamper(change: (knex: ReturnType<typeof createDatabase>) => Promise<unknown>) {
    const knex = createDatabase({ dataDir, databaseUrl: process.env.DATABASE_URL });
    try {
      await change(knex);
    } finally {
      await knex.destroy();
    }
  }

  describe('cpor audit verify', () => {
    it('an untouched database verifies: exit 0, every chain holds', async () => {
      const { code, stdout } = await audit();
      expect(code).toBe(0);
      expect(stdout).toContain('3 claims, 9 history entries checked: every chain holds');
    });

    it('an entry edited in the database is named: claim, entry, exit 1', async () => {
      await tamper(async (knex) => {
        const row = await knex('claim_history').where({ claim_id: 'claim-2', seq: 2 }).first();
        const entry = typeof row.entry === 'string' ? JSON.parse(row.entry) : row.entry; // jsonb on PostgreSQL
        entry.payload.customerSigned = false;
        await knex('claim_history').where({ claim_id: 'claim-2', seq: 2 }).update({ entry: JSON.stringify(entry) });
      });
      const { code, stdout } = await audit();
      expect(code).toBe(1);
      expect(stdout).toContain('claim claim-2: entry 2 broken: content does not match its hash');
      expect(stdout).toContain('1 broken');
    });

    it('a query column edited beside an intact entry is named too', async () => {
      await tamper((knex) => knex('claim_history').where({ claim_id: 'claim-1', seq: 3 }).update({ event: 'approve' }));
      const { code, stdout } = await audit();
      expect(code).toBe(1);
      expect(stdout).toContain('claim claim-1: entry 3 broken: column event differs');
    });

    it('a deleted entry breaks the chain at the entry after it', async () => {
      await tamper((knex) => knex('claim_history').where({ claim_id: 'claim-3', seq: 2 }).delete());
      const { code, stdout } = await audit();
      expect(code).toBe(1);
      expect(stdout).toContain('claim claim-3: entry 3 broken');
    });
  });
});
