import { afterEach, describe, expect, it } from 'vitest';
import { releasedFigures } from '../../src/memory/release-figures';
import { JsThreadMeter } from '../../src/memory/release-js-thread';
import { GLIBC_THREADPOOL_NOTE, releaseInSlices } from '../../src/memory/release-slices';
import { setNativeForTesting } from '../../src/native';
import { installFakeNative } from '../helpers/fake-native';

const MiB = 1024 * 1024;

describe('releasedFigures', () => {
  it('gives before − after for each span when RSS fell, and no note', () => {
    expect(releasedFigures({ before: 300 * MiB, afterGc: 280 * MiB, beforeTrim: 281 * MiB, after: 200 * MiB })).toEqual({
      releasedBytes: 100 * MiB,
      trimReleasedBytes: 81 * MiB,
      gcReleasedBytes: 20 * MiB,
      note: null,
    });
  });

  it('says 0 and why, never a negative, where RSS rose while the release ran (valgrind: −3.0 MB on Node 26)', () => {
    const figures = releasedFigures({ before: 200 * MiB, afterGc: 201 * MiB, beforeTrim: 201 * MiB, after: 203 * MiB });
    expect(figures).toMatchObject({ releasedBytes: 0, trimReleasedBytes: 0, gcReleasedBytes: 0 });
    expect(figures.note).toBe(
      'RSS rose while the release ran (the whole release +3.0 MiB, the trim +2.0 MiB, the GC step ' +
        '+1.0 MiB): other threads allocated meanwhile (or a tool such as valgrind grew its own memory), ' +
        'so nothing measurable came back there and those figures read 0; rssBeforeBytes and ' +
        'rssAfterBytes are the readings as taken',
    );
  });

  it('names only the spans that rose, and keeps the ones that gave back', () => {
    const figures = releasedFigures({ before: 200 * MiB, afterGc: null, beforeTrim: 190 * MiB, after: 195 * MiB });
    expect(figures).toMatchObject({ releasedBytes: 5 * MiB, trimReleasedBytes: 0, gcReleasedBytes: null });
    expect(figures.note).toMatch(/^RSS rose while the release ran \(the trim \+5\.0 MiB\)/);
  });
});

describe('threadpool caches in a release', () => {
  afterEach(() => setNativeForTesting(undefined));

  it('says why glibc reaches no threadpool thread (0 is not a silent zero)', async () => {
    installFakeNative();
    const meter = new JsThreadMeter();
    try {
      const result = await releaseInSlices('glibc', true, meter);
      expect(result.threadpoolThreads).toBe(0);
      expect(result.threadpoolNote).toBe(GLIBC_THREADPOOL_NOTE);
      expect(result.threadpoolNote).toMatch(/tcache .* empties when the thread exits.*trimmed by malloc_trim\(0\)/);
    } finally {
      meter.dispose();
    }
  });

  it('says how many pool threads were not met, elsewhere; nothing when all were', async () => {
    const fake = installFakeNative();
    const meter = new JsThreadMeter();
    try {
      const all = await releaseInSlices('jemalloc', true, meter);
      expect([all.threadpoolThreads, all.threadpoolNote]).toEqual([4, null]);
      fake.releaseThreadpoolCaches = (_kind, count) =>
        Array.from({ length: count }, (_, i) =>
          Promise.resolve({ released: true, threadId: 1000 + (i % 3), waitedNs: 0, cacheBytesBefore: null, cacheBytesAfter: null }),
        );
      const some = await releaseInSlices('jemalloc', true, meter);
      expect(some.threadpoolThreads).toBe(3);
      expect(some.threadpoolNote).toMatch(/^3 of the 4 threadpool threads handed their cache back: the others stayed busy past the 20 ms meeting time/);
    } finally {
      meter.dispose();
    }
  });
});
