import { describe, expect, it } from 'vitest';
import { runFixture, type PreloadName } from './helpers/child';

interface SpikeResult {
  rss: { baseline: number; open: number; closed: number; released: number };
  release: {
    allocator: string; method: string; durationMs: number; cpuMs: number; onThreadpool: boolean;
    allocatorSaysReleased: boolean | null; rssBeforeBytes: number; rssAfterBytes: number;
    releasedBytes: number; trimReleasedBytes: number; gc: { durationMs: number; shrunkHeap: boolean; releasedBytes: number };
  };
}

const MiB = 1024 * 1024;
const cases: Array<[PreloadName, string]> = [
  ['glibc', 'malloc_trim(0)'],
  ['jemalloc', 'mallctl("arena.4096.purge")'],
  ['tcmalloc', 'MallocExtension_ReleaseFreeMemory()'],
  ['mimalloc', 'mi_collect(true)'],
];

describe.each(cases)('releaseToOS() under %s after 2000 TLS connections closed', (name, method) => {
  it('gives memory back, measured from /proc, and reports what it cost', async () => {
    const { json } = await runFixture<SpikeResult>('release-spike.js', { preload: name, args: ['2000'] });
    const { release, rss } = json;
    expect(release.allocator).toBe(name);
    expect(release.method).toBe(method);
    expect(rss.open - rss.baseline).toBeGreaterThan(20 * MiB); // the spike was real
    expect(release.releasedBytes).toBeGreaterThan(0);
    expect(release.rssAfterBytes).toBeLessThan(release.rssBeforeBytes);
    expect(release.releasedBytes).toBe(release.rssBeforeBytes - release.rssAfterBytes);
    expect(release.durationMs).toBeGreaterThanOrEqual(0);
    expect(release.gc.shrunkHeap).toBe(true);
    expect(release.onThreadpool).toBe(name !== 'mimalloc');
    if (name !== 'mimalloc') {
      // The trim itself, not only the GC before it, returned memory.
      expect(release.trimReleasedBytes).toBeGreaterThan(4 * MiB);
    }
    if (name === 'glibc') {
      expect(release.allocatorSaysReleased).toBe(true);
      // glibc + heap shrink returns close to the pre-spike baseline (the README's aim: 15 MB).
      expect(rss.released - rss.baseline).toBeLessThan(15 * MiB);
    } else {
      expect(release.allocatorSaysReleased).toBeNull();
    }
  });
});

describe('releaseToOS() on the calling thread', () => {
  it('works synchronously too and says so', async () => {
    const { json } = await runFixture<SpikeResult>('release-spike.js', { args: ['500', 'sync'] });
    expect(json.release.onThreadpool).toBe(false);
    expect(json.release.releasedBytes).toBeGreaterThan(0);
    expect(json.release.cpuMs).toBeGreaterThan(0);
  });
});
