import { defineConfig } from 'vitest/config';

// Two tiers. `unit` imports src/ only, fakes the native seam and runs in seconds with no
// system package. `system` spawns child processes with preloaded allocators and real
// loopback connections against the built package: files in forks, two at a time on a
// 2-core machine, with generous per-test time, after a setup that names missing packages.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
          // One module graph for all files: a fresh one per file cost ~10 s of the tier's ~13 s
          // on this loaded 2-core machine. Tests that need once-per-process state afresh (the
          // detected allocator, OpenSSL support, register's environment) call vi.resetModules().
          isolate: false,
          setupFiles: ['test/helpers/unit-setup.ts'],
          // The unit tier first: seconds, and a broken seam shows before the long tier starts.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'system',
          include: ['test/system/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
