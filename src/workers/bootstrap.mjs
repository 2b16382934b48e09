// A worker thread's entry when running from the sources (vitest, or bin/cpor.mjs with src/ newer
// than dist/): they are TypeScript, run through tsx as bin/cpor.mjs does for the main thread; a
// worker has its own module loader, so it registers tsx itself. The compiled build (dist/) starts
// its workers on dist/job-worker.js instead (see worker-pool.ts).
import { register } from 'tsx/esm/api';

register();
await import(new URL('./job-worker.ts', import.meta.url).href);
