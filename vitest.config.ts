import { defineConfig } from 'vitest/config';

const MULTIPROCESS = 'test/multiprocess/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'tests', include: ['test/**/*.test.ts'], exclude: [MULTIPROCESS], sequence: { groupOrder: 0 } } },
      // Real `cpor serve` processes on PostgreSQL (20 at once in one test): after every other
      // test, one file at a time, so they do not fight the rest of the suite for the cores.
      { extends: true, test: { name: 'multiprocess', include: [MULTIPROCESS], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
    // On with --coverage (`npm test`): a summary of src/ covered by the tests, on stdout.
    // Code that runs in child processes (cli.test's `cpor`) or worker threads is not counted.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary'],
      // About two points under the whole suite on 2026-11-30 (statements 92.5, branches 85.1,
      // functions 94.7, lines 94.6): a change that drops coverage noticeably fails `npm test`.
      thresholds: { statements: 90, branches: 83, functions: 92, lines: 92 },
    },
  },
});
