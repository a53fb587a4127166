import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  ok?: boolean;
  error?: string;
  heapLimit: number;
  filled: number;
  sites: number;
  omitted: number;
  pprofBytes: number;
  grown: number;
  ownMemoryBytes: number;
}

// --always-sparkplug gives each of the fixture's 8000 generated functions its own code, so each
// allocates at its own call site: a profile at 1 KiB sampling runs to thousands of sites.
const NODE_ARGS = ['--max-old-space-size=64', '--expose-gc', '--always-sparkplug'];

describe("the probe's own memory under a 64 MiB heap", () => {
  it('keeps heavy profiling (1 KiB sampling, toPprof, diff) within its bound: a workload that survives without sockprobe survives with it', async () => {
    const without = await runFixture<Result>('probe-heap-bound.js', { nodeArgs: NODE_ARGS, args: ['none'], timeoutMs: 120_000 }).catch((error: Error) => ({
      code: null,
      signal: null,
      stderr: error.message,
      json: {} as Result,
    }));
    expect(without.json.ok, `the workload alone must fit the heap: ${without.stderr.slice(-400)}`).toBe(true);
    const withProbe = await runFixture<Result>('probe-heap-bound.js', { nodeArgs: NODE_ARGS, args: ['probe'], timeoutMs: 120_000 }).catch((error: Error) => ({
      code: null,
      signal: null,
      stderr: error.message,
      json: {} as Result,
    }));
    // Was: "Reached heap limit", an abort, with ~9.6 MB held by the probe.
    expect(withProbe.json.ok, withProbe.stderr.slice(-400)).toBe(true);
    const bound = Math.min(16, Math.max(1, (0.02 * withProbe.json.heapLimit) / 1048576)) * 1048576;
    expect(withProbe.json.ownMemoryBytes).toBeLessThanOrEqual(bound + 3600 * 350);
    // The profile was heavy, and what was left out is counted, not lost.
    expect(withProbe.json.sites + withProbe.json.omitted).toBeGreaterThan(1000);
    expect(withProbe.json.omitted).toBeGreaterThan(0);
    expect(withProbe.json.sites).toBeGreaterThan(10);
    expect(withProbe.json.pprofBytes).toBeGreaterThan(0);
  });
});
