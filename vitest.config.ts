import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // On with --coverage (`npm test`): a summary of src/ covered by the tests, on stdout.
    // Code that runs in child processes (cli.test's `cpor`) or worker threads is not counted.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary'],
    },
  },
});
