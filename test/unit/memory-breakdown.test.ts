import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FakeNative } from '../helpers/fake-native';

/** memoryBreakdown() over a fake addon; RSS, V8 and process figures are this test process's own. */
async function breakdown(configure: (fake: FakeNative) => void) {
  vi.resetModules(); // the allocator is resolved once per process
  (await import('../helpers/fake-native')).installFakeNative(configure);
  return (await import('../../src/memory/breakdown')).memoryBreakdown();
}

const GiB = 1024 ** 3;
const sumOfParts = (b: Awaited<ReturnType<typeof breakdown>>) =>
  [b.jsHeap, b.external, b.nativeInUse, b.nativeFree, b.codeAndLibraries, b.other].reduce((total, part) => total + (part.bytes ?? 0), 0);

afterEach(async () => (await import('../../src/native')).setNativeForTesting(undefined));

describe('memoryBreakdown()', () => {
  it("caps native parts at the anonymous RSS left unexplained, however large the allocator's counts", async () => {
    // glibc keeps trimmed pages in its free lists: its free count can exceed RSS many times over.
    const b = await breakdown((f) => (f.mallinfo = { ...f.mallinfo, uordblks: 4 * GiB, hblkhd: 0, fordblks: 10 * GiB, arena: 14 * GiB }));
    expect(b.allocator).toBe('glibc');
    expect(b.nativeInUse.bytes! + b.nativeFree.bytes!).toBeLessThan(b.rss.bytes!);
    expect(sumOfParts(b)).toBe(b.rss.bytes);
    expect(b.nativeFree.source).toBe('mallinfo2() free, at most the anonymous RSS left unexplained');
    expect(b.rss.source).toBe('/proc/self/status VmRSS');
  });

  it('takes small counts as they are, in-use net of what V8 counts as external', async () => {
    const external = process.memoryUsage().external;
    const b = await breakdown((f) => (f.mallinfo = { ...f.mallinfo, uordblks: external + 3 * 1024 * 1024, hblkhd: 0, fordblks: 1024 * 1024 }));
    expect(b.nativeInUse.bytes).toBeGreaterThan(2.5 * 1024 * 1024); // external moves a little between the two reads
    expect(b.nativeInUse.bytes).toBeLessThan(3.5 * 1024 * 1024);
    expect(b.nativeFree.bytes).toBe(1024 * 1024);
    expect(sumOfParts(b)).toBe(b.rss.bytes);
  });

  it("names the thread caches inside jemalloc's free part, which a release keeps", async () => {
    const MiB = 1024 * 1024;
    const b = await breakdown((f) => {
      f.owner = { ...f.owner, glibc: false, jemalloc: true, path: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', jemallocVersion: '5.3.0' };
      f.numbers.jemalloc = {
        'stats.allocated': 40 * MiB,
        'stats.active': 44 * MiB,
        'stats.metadata': 4 * MiB,
        'stats.resident': 60 * MiB,
        'stats.mapped': 64 * MiB,
        'stats.arenas.4096.tcache_bytes': 3 * MiB,
      };
    });
    expect(b.allocator).toBe('jemalloc');
    expect(b.nativeFree.source).toBe('jemalloc stats free (thread caches 3.0 MiB of it, which a release keeps), at most the anonymous RSS left unexplained');
    expect(sumOfParts(b)).toBe(b.rss.bytes);
  });

  it('says where an allocator keeps no figure, instead of a zero', async () => {
    const b = await breakdown((f) => {
      f.owner = { ...f.owner, glibc: false, mimalloc: true, path: '/usr/lib/x86_64-linux-gnu/libmimalloc.so.2', mimallocVersion: 209 };
      f.numbers.mimalloc = { current_commit: 64 * 1024 * 1024 };
    });
    expect(b.allocator).toBe('mimalloc');
    expect(b.nativeInUse).toEqual({ bytes: null, source: 'mimalloc keeps no allocated-bytes figure' });
    expect(b.nativeFree).toEqual({ bytes: null, source: 'mimalloc keeps no free-bytes figure' });
    expect(sumOfParts(b)).toBe(b.rss.bytes);
  });
});
