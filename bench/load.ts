/**
 * Runs the closed-loop HTTP load generator (load-worker.mjs) in a worker thread, so that
 * it has a core of its own, and answers requests/s.
 */
import { Worker } from 'node:worker_threads';

export interface LoadOptions {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body: string;
  /** Bodies sent in turn instead of `body` (a mix of requests). */
  bodies?: string[];
  connections: number;
  durationMs: number;
  /** Status every answer must have; anything else counts as an error. */
  expectStatus: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
}

export function loadInWorker(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: options });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
