import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  expectedBytes: number;
  addonBytes: number;
  addonCategory: number;
  before: string;
  during: string;
  after: string;
  resolved: string;
  beforeInAddon: boolean;
  heldAgain: number;
  restoreLeft: number;
  patchedAfterStop: number;
  error?: string;
}

// An addon bound lazily whose posix_memalign slot has never been called when start() comes:
// the slot holds its own PLT stub, confirmed by the stub pushing that slot's relocation index.
// Unhooked, the first call would bind it straight to the allocator, past the profiler.
describe('native heap profiler and lazily bound objects', () => {
  it("hooks a slot still at its lazy stub, sees the addon's 64 MiB at its call site, and puts the stub back", async () => {
    const { json } = await runFixture<Result>('native-heap-lazy-object.js');
    expect(json.error).toBeUndefined();
    // Read through /proc/self/mem: the slot held a stub inside the addon, then the hook, then the stub again.
    expect(json.beforeInAddon).toBe(true);
    expect(json.during).not.toBe(json.before);
    expect(json.after).toBe(json.before);
    expect(json.addonBytes / json.expectedBytes).toBeGreaterThan(0.9);
    expect(json.addonBytes / json.expectedBytes).toBeLessThan(1.1);
    expect(json.addonCategory).toBeGreaterThanOrEqual(json.addonBytes);
    // Restored, the stub resolves on the next call and the addon keeps working.
    expect(json.heldAgain).toBe(4);
    expect(json.resolved).not.toBe(json.before);
    expect(json.restoreLeft).toBe(0);
    expect(json.patchedAfterStop).toBe(0);
  });

  // Under a preloaded allocator the addon's own scope (itself and its dependencies, what
  // RTLD_DEEPBIND would search first) names libc's posix_memalign, the global scope the
  // preload's: the stub cannot be confirmed to resolve to what the hook would call, so the
  // slot is left to the resolver, and the addon works as without the profiler.
  it.each(['jemalloc', 'tcmalloc', 'mimalloc'] as const)('leaves the lazy slot alone under preloaded %s', async (preload) => {
    const { json } = await runFixture<Result>('native-heap-lazy-object.js', { preload });
    expect(json.error).toBeUndefined();
    expect(json.beforeInAddon).toBe(true);
    expect(json.during).toBe(json.before);
    expect(json.heldAgain).toBe(4);
    expect(json.restoreLeft).toBe(0);
  });
});
