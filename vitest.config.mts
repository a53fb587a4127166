import { defineConfig } from 'vitest/config';

// Tests spawn child processes with preloaded allocators and real loopback connections:
// run files in forks, two at a time on a 2-core machine, with generous per-test time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
