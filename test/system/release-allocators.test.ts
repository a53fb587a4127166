import { describe, expect, it } from 'vitest';
import { JsThreadMeter } from '../../src/memory/release-js-thread';
import { runFixture, type PreloadName } from '../helpers/child';
import type { ReleaseResult } from '../../src';

interface SpikeResult {
  rss: { baseline: number; open: number; closed: number; released: number };
  /** The fixture's releases all run the GC step (gc: true, the default). */
  release: ReleaseResult & { gc: NonNullable<ReleaseResult['gc']> };
}

const MiB = 1024 * 1024;
const cases: Array<[PreloadName, RegExp]> = [
  ['glibc', /^malloc_trim\(0\)$/],
  ['jemalloc', /arena\.<i>\.purge/],
  ['tcmalloc', /MallocExtension_ReleaseToSystem/],
  ['mimalloc', /^mi_collect\(true\) on the threadpool threads, then on the JS thread$/],
];

describe.each(cases)('releaseToOS() under %s after 2000 TLS connections closed', (name, method) => {
  it('gives memory back, measured from /proc, and reports what it cost the JS thread', async () => {
    const { json } = await runFixture<SpikeResult>('release-spike.js', { preload: name, args: ['2000'] });
    const { release, rss } = json;
    expect(release.allocator).toBe(name);
    expect(release.method).toMatch(method);
    expect(rss.open - rss.baseline).toBeGreaterThan(20 * MiB); // the spike was real
    expect(release.releasedBytes).toBeGreaterThan(0);
    expect(release.rssAfterBytes).toBeLessThan(release.rssBeforeBytes);
    expect(release.releasedBytes).toBe(release.rssBeforeBytes - release.rssAfterBytes);
    expect(release.durationMs).toBeGreaterThanOrEqual(0);
    expect(release.slices).toBeGreaterThanOrEqual(1);
    // The default GC: incremental and memory-reducing, awaited until V8 reported it finished.
    expect(release.gc).toMatchObject({ method: 'MemoryPressureNotification(kModerate)', fallbackReason: null, shrunkHeap: true, completed: true });
    expect(release.gc.wallMs).toBeGreaterThanOrEqual(release.gc.durationMs);
    // Its cost on the JS thread: V8's own pause reports, within the loop-delay monitor's window.
    expect(release.gc.durationMs).toBeGreaterThan(0);
    expect(release.jsThread.totalMs).toBeGreaterThanOrEqual(release.gc.durationMs);
    expect(release.jsThread.longestStallMs).toBeGreaterThanOrEqual(1); // the monitor's 1 ms turns at least
    expect(release.onThreadpool).toBe(name !== 'mimalloc');
    // What it cost the JS thread, by step, reported (aims are the bench's, not a test's).
    expect(Object.keys(release.jsThread.longestStallMsByStep)).toEqual(expect.arrayContaining(['gc', 'trim']));
    expect(release.jsThread.longestGcPauseMs).toBeGreaterThan(0);
    expect(release.wallMs).toBeGreaterThanOrEqual(release.gc.wallMs);
    expect(release.paced).toBeNull();
    // The loop's p99 delay: over the release against the 200 ms before it, from the step timer's
    // gaps, so no wait in it can exceed the longest gap that timer saw.
    const { loopDelay } = release.jsThread;
    expect(loopDelay.baselineWindowMs).toBeGreaterThanOrEqual(199);
    expect(loopDelay.windowMs).toBeGreaterThanOrEqual(release.wallMs);
    expect(loopDelay.p99Ms).toBeGreaterThan(0);
    expect(loopDelay.p99Ms).toBeLessThanOrEqual(Math.max(...Object.values(release.jsThread.longestStallMsByStep)) + 0.02);
    expect(loopDelay.addedP99Ms).toBeCloseTo(Math.max(0, loopDelay.p99Ms - loopDelay.baselineP99Ms), 6);
    expect(loopDelay.note).toBeNull();
    console.info(
      `${name}: ${((rss.released - rss.baseline) / MiB).toFixed(1)} MiB above baseline; longest ` +
        `stall ${release.jsThread.longestStallMs.toFixed(1)} ms ` +
        `(gc ${release.jsThread.longestStallMsByStep.gc.toFixed(1)}, ` +
        `trim ${release.jsThread.longestStallMsByStep.trim.toFixed(1)}; V8's longest ` +
        `pause ${release.jsThread.longestGcPauseMs.toFixed(1)}), JS ` +
        `thread ${release.jsThread.totalMs.toFixed(1)} ms, wall ${release.wallMs.toFixed(0)} ms; loop p99 ` +
        `${loopDelay.p99Ms.toFixed(1)} ms against ${loopDelay.baselineP99Ms.toFixed(1)} before`,
    );
    // Pool threads' caches were handed back first, except under glibc (no per-thread call).
    if (name === 'glibc') expect(release.threadpoolThreads).toBe(0);
    else expect(release.threadpoolThreads).toBeGreaterThanOrEqual(1);
    if (name !== 'mimalloc') {
      // The trim itself, not only the GC before it, returned memory.
      expect(release.trimReleasedBytes).toBeGreaterThan(4 * MiB);
    }
    if (name === 'jemalloc') {
      // One slice per arena, as jemalloc itself counts them.
      expect(release.slices).toBe(release.before.raw['arenas.narenas']);
    }
    if (name === 'tcmalloc') {
      // Slices went on until tcmalloc's own page heap said it held (almost) no free bytes.
      expect(release.slices).toBeGreaterThan(1);
      expect(release.after.raw['tcmalloc.pageheap_free_bytes']).toBeLessThan(release.before.raw['tcmalloc.pageheap_free_bytes']);
      expect(release.after.raw['tcmalloc.pageheap_unmapped_bytes']).toBeGreaterThan(release.before.raw['tcmalloc.pageheap_unmapped_bytes']);
    }
    if (name === 'glibc') {
      expect(release.allocatorSaysReleased).toBe(true);
      // glibc + heap shrink returns close to the pre-spike baseline (the aim: 10 MiB).
      expect(rss.released - rss.baseline).toBeLessThan(15 * MiB);
    } else {
      expect(release.allocatorSaysReleased).toBeNull();
    }
  });
});

describe('releaseThreadpoolCaches', () => {
  it("empties the pool threads' tcmalloc caches, by tcmalloc's own count, one work item per pool thread", async () => {
    type Item = { released: boolean; cacheBytesBefore: number; cacheBytesAfter: number };
    const { json } = await runFixture<{ size: number; threads: number; items: Item[] }>('release-threadpool-caches.js', {
      preload: 'tcmalloc',
      args: ['tcmalloc'],
    });
    expect(json.items.every((item) => item.released)).toBe(true);
    expect(json.threads).toBe(json.size); // an idle pool: the rendezvous put one item on each thread
    // The key generation left caches on the pool threads; each is empty after the call.
    expect(json.items.reduce((sum, item) => sum + item.cacheBytesBefore, 0)).toBeGreaterThan(0);
    for (const item of json.items) expect(item.cacheBytesAfter).toBe(0);
  });

  it('says nothing was released under glibc, which has no per-thread cache call', async () => {
    const { json } = await runFixture<{ items: Array<{ released: boolean; cacheBytesBefore: number | null }> }>('release-threadpool-caches.js', {
      args: ['glibc'],
    });
    expect(json.items.length).toBeGreaterThan(0);
    expect(json.items.every((item) => !item.released && item.cacheBytesBefore === null)).toBe(true);
  });
});

describe.each([['jemalloc'], ['tcmalloc']] as Array<[PreloadName]>)('paced releaseToOS() under %s', (name) => {
  it('keeps to its byte budget by waiting between slices, and still returns memory', async () => {
    const { json } = await runFixture<SpikeResult>('release-spike.js', { preload: name, args: ['2000', 'paced'] });
    const { release } = json;
    expect(release.gc).toMatchObject({ method: 'MemoryPressureNotification(kModerate)', completed: true }); // the GC step as unpaced
    expect(release.paced!.bytesPerSecond).toBe(32 * MiB);
    expect(release.slices).toBeGreaterThan(1);
    expect(release.trimReleasedBytes).toBeGreaterThan(4 * MiB);
    // It waited after slices that returned more than a few ms' worth of its budget.
    expect(release.paced!.waitedMs).toBeGreaterThan(0);
    expect(release.wallMs).toBeGreaterThanOrEqual(release.paced!.waitedMs);
    console.info(
      `${name} paced: ${(release.trimReleasedBytes / MiB).toFixed(1)} MiB back in ${release.slices} ` +
        `slices over ${release.wallMs.toFixed(0)} ms; longest ` +
        `stall ${release.jsThread.longestStallMs.toFixed(1)} ms, JS ` +
        `thread ${release.jsThread.totalMs.toFixed(1)} ms`,
    );
  });
});

describe('releaseToOS() options', () => {
  it('works synchronously on the calling thread and says so', async () => {
    const { json } = await runFixture<SpikeResult>('release-spike.js', { args: ['500', 'sync'] });
    expect(json.release.onThreadpool).toBe(false);
    expect(json.release.releasedBytes).toBeGreaterThan(0);
    expect(json.release.cpuMs).toBeGreaterThan(0);
    expect(json.release.jsThread.totalMs).toBeGreaterThan(0);
  });

  it("shrinkHeap: 'blocking' uses LowMemoryNotification and counts it as JS-thread time", async () => {
    const { json } = await runFixture<SpikeResult>('release-spike.js', { args: ['500', 'blocking'] });
    const { gc, jsThread } = json.release;
    expect(gc).toMatchObject({ method: 'LowMemoryNotification()', completed: true, shrunkHeap: true });
    expect(gc.durationMs).toBe(gc.wallMs);
    expect(jsThread.totalMs).toBeGreaterThanOrEqual(gc.durationMs);
    // The blocking GC held the loop at least as long as the call took, and that stall is the GC step's.
    expect(jsThread.longestStallMs).toBeGreaterThanOrEqual(gc.durationMs);
    expect(jsThread.longestStallMsByStep.gc).toBeGreaterThanOrEqual(gc.durationMs);
  });
});

describe('JsThreadMeter', () => {
  it('sees a synchronous block as a stall and counts steps run through it', async () => {
    const meter = await new JsThreadMeter().started();
    meter.run(() => {
      const until = performance.now() + 30;
      while (performance.now() < until);
    });
    const cost = await meter.stop();
    expect(cost.longestStallMs).toBeGreaterThanOrEqual(30);
    expect(cost.totalMs).toBeGreaterThanOrEqual(30);
    expect(cost.totalMs).toBeLessThan(30 + 1000);
  });

  it('does not report a stall that did not happen in steps it ran', async () => {
    const meter = await new JsThreadMeter().started();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const cost = await meter.stop();
    expect(cost.totalMs).toBeLessThan(30); // waiting is not JS-thread time
  });
});
