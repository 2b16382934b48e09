/**
 * Scale-out (`npm run bench -- scale`): claim creations and actions (comments: the `comment`
 * event, one claim per client so clients never conflict) per second through real `cpor serve`
 * processes — one and two instances on one throwaway PostgreSQL 15 cluster, and one on SQLite.
 * The configurations alternate round by round (the machine's noise spreads over all);
 * min/median/max of the rounds. The load generator runs in this process on the same cores:
 * with two cores, two instances cannot show more capacity than the cores leave them.
 *
 * Options: BENCH_SECONDS (per round and measure, default 4), BENCH_SCALE_ROUNDS (default 3),
 * BENCH_CLIENTS (concurrent clients, default 16).
 */
import { startServiceProcesses } from '../test/support/service-processes';
import { startSqliteService } from './service-process';
import { spread } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Math.max(1, Number(process.env.BENCH_SCALE_ROUNDS ?? 3));
const CLIENTS = Math.max(1, Number(process.env.BENCH_CLIENTS ?? 16));
const PARTNER = { role: 'incentivesAdmin', partnerId: '4512345' };
const FIELDS = JSON.stringify({
  mpnId: '4512345',
  activity: 'preSales',
  customer: { tenantId: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01', domain: 'contoso.com', name: 'Contoso' },
  products: [{ line: 'microsoft365', workload: 'teams' }],
  customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
  partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
});

interface Target {
  name: string;
  urls: readonly string[];
  auth: string;
}

async function post(url: string, auth: string, body: string): Promise<Response> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res;
}

/** `CLIENTS` clients spread over the target's instances, each calling `op` back to back for SECONDS; answers calls/s. */
async function drive(target: Target, op: (url: string, client: number) => Promise<void>): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      const url = target.urls[client % target.urls.length]!;
      while (performance.now() < end) {
        await op(url, client);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function creations(target: Target): Promise<number> {
  return drive(target, async (url) => {
    const res = await post(`${url}/v1/claims`, target.auth, FIELDS);
    if (res.status !== 201) throw new Error(`${target.name}: create answered ${res.status}`);
  });
}

async function actions(target: Target): Promise<number> {
  const claims = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const res = await fetch(`${target.urls[0]}/v1/claims`, { method: 'POST', headers: { authorization: target.auth, 'content-type': 'application/json' }, body: FIELDS });
      return ((await res.json()) as { id: string }).id;
    }),
  );
  return drive(target, async (url, client) => {
    const res = await post(`${url}/v1/claims/${claims[client]}/comments`, target.auth, JSON.stringify({ text: 'Checked.' }));
    if (res.status !== 201) throw new Error(`${target.name}: comment answered ${res.status}`);
  });
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export async function benchScaleOut(section: number): Promise<void> {
  const postgres = await startServiceProcesses({ count: 2 });
  const sqlite = await startSqliteService();
  const sqliteAuth = await sqlite.bearer(PARTNER);
  try {
    const pgAuth = await postgres.bearer(PARTNER);
    const targets: Target[] = [
      { name: 'PostgreSQL, 1 instance ', urls: postgres.urls.slice(0, 1), auth: pgAuth },
      { name: 'PostgreSQL, 2 instances', urls: postgres.urls, auth: pgAuth },
      { name: 'SQLite, 1 instance     ', urls: [sqlite.url], auth: sqliteAuth },
    ];
    const samples = new Map(targets.map((t) => [t.name, { creations: [] as number[], actions: [] as number[] }]));
    for (const target of targets) await creations(target); // warm up (JIT, pools, caches)
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        samples.get(target.name)!.creations.push(await creations(target));
        samples.get(target.name)!.actions.push(await actions(target));
      }
    }
    console.log(`${section}. Scale  ${CLIENTS} clients, ${ROUNDS} rounds of ${SECONDS} s per measure; requests/s min / median / max`);
    const line = (values: number[]) => {
      const s = spread(values);
      return `${fmt(s.min).padStart(6)} / ${fmt(s.median).padStart(6)} / ${fmt(s.max).padStart(6)}`;
    };
    for (const target of targets) {
      const { creations: c, actions: a } = samples.get(target.name)!;
      console.log(`         ${target.name}  creations ${line(c)}   actions (comments) ${line(a)}`);
    }
    const one = spread(samples.get(targets[0]!.name)!.creations).median;
    const two = spread(samples.get(targets[1]!.name)!.creations).median;
    console.log(`         two instances / one on PostgreSQL (creations, medians): ${(two / one).toFixed(2)}×`);
  } finally {
    await sqlite.stop();
    await postgres.stop();
  }
}
