/**
 * Bench section 1: POST /v1/evaluate through real `cpor serve` processes (the compiled build, on
 * SQLite, as `npm start` runs it): default answer (the decision only) over a mix of generated
 * claims, rule cache on (EVALUATION_CACHE_SIZE=10000) and off (0), each with its own decision log,
 * every answer logged (EVALUATION_LOG_SAMPLE=1, the default; beside it, for what the log costs, the
 * cached service and the uncached one with EVALUATION_LOG_SAMPLE=0) vs a bare Express echo process of the
 * same bodies. Alternating rounds; besides req/s (which the machine's other load disturbs), each
 * server process's CPU per request (user + system of all its threads, from /proc: the load
 * generator runs in a worker thread of this process).
 */
import { join } from 'node:path';
import { evaluationMix } from './evaluation-mix';
import { loadInWorker, type LoadOptions } from './load';
import { startNodeProcess, startSqliteService, type BenchProcess } from './service-process';
import { spread } from './stats';

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

/** The counters of a service's rule cache, read from its /metrics. */
async function cacheCounters(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { hits: value('cpor_evaluation_cache_hits_total'), misses: value('cpor_evaluation_cache_misses_total') };
}

export async function benchEvaluateHttp(options: { seconds: number; rounds: number }): Promise<void> {
  const echo = await startNodeProcess([join(import.meta.dirname, 'echo-server.mjs')], { ...process.env }, '/ready');
  const cached = await startSqliteService({ EVALUATION_CACHE_SIZE: '10000' });
  const cold = await startSqliteService({ EVALUATION_CACHE_SIZE: '0' });
  // What logging every answer costs: the cached service with the decision log sampled at 0.
  const unlogged = await startSqliteService({ EVALUATION_CACHE_SIZE: '10000', EVALUATION_LOG_SAMPLE: '0' });
  // And with the cache off too: what json-rules-engine's run alone leaves of the echo's rate.
  const coldUnlogged = await startSqliteService({ EVALUATION_CACHE_SIZE: '0', EVALUATION_LOG_SAMPLE: '0' });
  try {
    const mix = evaluationMix(20_000, 5_000);
    const bodies = mix.map((input) => JSON.stringify(input));
    const common = { method: 'POST' as const, body: bodies[0]!, bodies, connections: 32, durationMs: options.seconds * 1000, expectStatus: 200 };
    const evaluate = async (service: typeof cached): Promise<LoadOptions> => ({
      ...common,
      url: `${service.url}/v1/evaluate`,
      headers: { 'content-type': 'application/json', authorization: await service.bearer({ role: 'reviewer', subject: 'bench' }) },
    });
    const loads = {
      echo: { ...common, url: `${echo.url}/echo`, headers: { 'content-type': 'application/json' } },
      cached: await evaluate(cached),
      cold: await evaluate(cold),
      unlogged: await evaluate(unlogged),
      coldUnlogged: await evaluate(coldUnlogged),
    };
    const servers: Record<keyof typeof loads, BenchProcess> = { echo, cached, cold, unlogged, coldUnlogged };
    /** req/s, and the server process's CPU µs per request. */
    const measure = async (name: keyof typeof loads) => {
      const before = servers[name].cpuMicros();
      const result = await loadInWorker(loads[name]);
      const used = servers[name].cpuMicros() - before;
      if (result.errors > 0) throw new Error(`${loads[name].url} answered ${result.errors} errors`);
      return { perSecond: result.perSecond, cpuMicros: used / result.requests };
    };
    // Warm every server up (JIT, pools, caches) before measuring.
    for (const load of Object.values(loads)) await loadInWorker({ ...load, durationMs: 2000 });
    const before = await cacheCounters(cached.url);
    type Sample = { perSecond: number; cpuMicros: number };
    const samples = { echo: [] as Sample[], cached: [] as Sample[], cold: [] as Sample[], unlogged: [] as Sample[], coldUnlogged: [] as Sample[] };
    for (let round = 0; round < options.rounds; round++) {
      for (const name of ['echo', 'cached', 'cold', 'unlogged', 'coldUnlogged'] as const) samples[name].push(await measure(name));
    }
    const after = await cacheCounters(cached.url);
    const hits = after.hits - before.hits;
    const hitRate = hits / (hits + after.misses - before.misses);
    const rps = (list: Sample[]) => spread(list.map((s) => s.perSecond));
    const busy = (list: Sample[]) => spread(list.map((s) => s.cpuMicros));
    const e = rps(samples.echo);
    const eb = busy(samples.echo);
    const line = (label: string, list: Sample[], goal?: number) => {
      const r = rps(list);
      const b = busy(list);
      // On a core of its own a server answers 1/CPU per request a second: the ratio a loaded machine disturbs least.
      const cpuRatio = eb.median / b.median;
      // Each round's echo and service ran back to back: their ratio cancels the load's drift between rounds.
      const paired = spread(list.map((sample, i) => samples.echo[i]!.cpuMicros / sample.cpuMicros));
      return (
        `   ${label} median ${fmt(r.median)} req/s (min ${fmt(r.min)}, max ${fmt(r.max)}) = ${pct(r.median / e.median)} of the echo's; ` +
        `server CPU ${fmt(b.median)} µs/request (min ${fmt(b.min)}, max ${fmt(b.max)}) → ${pct(cpuRatio)} of the echo's rate by CPU ` +
        `(per round median ${pct(paired.median)}, min ${pct(paired.min)}, max ${pct(paired.max)})` +
        (goal === undefined ? '' : ` (goal ≥ ${goal * 100}%) ${cpuRatio >= goal ? 'MET' : 'NOT MET'}`)
      );
    };
    console.log(
      `1. HTTP   POST /v1/evaluate through \`cpor serve\` processes (compiled build, SQLite, every answer logged), ${fmt(bodies.length)} requests over ` +
        `${fmt(new Set(mix).size)} generated claims, 32 connections, ${options.rounds} alternating rounds of ${options.seconds} s each:`,
    );
    console.log(`   bare Express echo process, same bodies: median ${fmt(e.median)} req/s (min ${fmt(e.min)}, max ${fmt(e.max)}); server CPU ${fmt(eb.median)} µs/request (min ${fmt(eb.min)}, max ${fmt(eb.max)})`);
    console.log(`${line('cache on  (EVALUATION_CACHE_SIZE=10000)', samples.cached, 0.7)}; hit rate ${pct(hitRate)}`);
    console.log(line('cache off (EVALUATION_CACHE_SIZE=0)    ', samples.cold, 0.5));
    console.log(`${line('cache on, no decision log (EVALUATION_LOG_SAMPLE=0)', samples.unlogged)}: what logging every answer costs`);
    console.log(`${line('cache off, no decision log                      ', samples.coldUnlogged)}: json-rules-engine's run with nothing logged`);
  } finally {
    await Promise.all([echo.stop(), cached.stop(), cold.stop(), unlogged.stop(), coldUnlogged.stop()]);
  }
}
