// A worker thread's entry: the sources are TypeScript, run through tsx (as bin/cpor.mjs does for
// the main thread); a worker has its own module loader, so it registers tsx itself, under
// `cpor serve` and under vitest alike.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./job-worker.ts', import.meta.url).href);
