import { afterAll, describe, expect, it, vi } from 'vitest';
import type { NativeMallinfo2 } from '../../src/binding/malloc';
import { JEMALLOC_TCACHE_BYTES, JEMALLOC_TCACHE_STASHED_BYTES, normalize } from '../../src/memory/stats';
import { parseMallocInfo } from '../../src/memory/malloc-info';
import { releasableRaw } from '../../src/probe/real-sources';
import { numberAfter, recordedMeta, recordedText } from '../helpers/recorded';

// Each allocator's figures as the addon read them in node after a 300-connection TLS spike,
// beside the allocator's own text taken right after (see each .meta.json for how).
type Figures = { numbers: Record<string, number>; numbersAfter: Record<string, number> };
const KiB = 1024;
const MiB = 1024 * 1024;

afterAll(async () => (await import('../../src/native')).setNativeForTesting(undefined));

describe('normalize(jemalloc) against malloc_stats_print', () => {
  const text = recordedText('jemalloc-stats.txt');
  const { numbersAfter } = recordedMeta<Figures>('jemalloc-stats');
  const line = /Allocated: (\d+), active: (\d+), metadata: (\d+) \(n_thp \d+\), resident: (\d+), mapped: (\d+), retained: (\d+)/.exec(text)!;
  const [allocated, active, metadata, resident, mapped] = line.slice(1).map(Number);
  // The figures read after gdb's call; resident and mapped had not moved. malloc_stats_print
  // allocates its own buffers (64 KiB of metadata) while it prints.
  const stats = normalize('jemalloc', numbersAfter);

  it('takes resident and mapped bytes as jemalloc prints them', () => {
    expect(stats.residentBytes).toBe(resident);
    expect(stats.mappedBytes).toBe(mapped);
  });

  it('takes allocated and metadata bytes within what malloc_stats_print itself allocates', () => {
    expect(Math.abs(stats.allocatedBytes! - allocated)).toBeLessThan(128 * KiB);
    expect(Math.abs(stats.metadataBytes! - metadata)).toBeLessThanOrEqual(64 * KiB);
  });

  it('counts free as resident − allocated − metadata, and releasable as the dirty pages (resident − active − metadata)', () => {
    expect(Math.abs(stats.freeBytes! - (resident - allocated - metadata))).toBeLessThan(256 * KiB);
    expect(stats.freeBytes!).toBeGreaterThan(50 * MiB);
    expect(Math.abs(releasableRaw(stats)! - (resident - active - metadata))).toBeLessThan(256 * KiB);
    expect(releasableRaw(stats)!).toBeLessThan(stats.freeBytes!);
  });

  it('names no thread cache figure without the tcache names (jemalloc before 5.0; this recording read none): stats.allocated stays in use', () => {
    expect(stats.threadCacheBytes).toBeNull();
    expect(stats.allocatedBytes).toBe(numbersAfter['stats.allocated']);
  });

  describe('with the thread caches jemalloc printed (merged tcache_bytes, tcache_stashed_bytes)', () => {
    const merged = text.slice(text.indexOf('Merged arenas stats:'));
    const cached = numberAfter(merged, /tcache_bytes:\s+/);
    const stashed = numberAfter(merged, /tcache_stashed_bytes:\s+/);
    const withCaches = normalize('jemalloc', {
      ...numbersAfter,
      [JEMALLOC_TCACHE_BYTES]: cached,
      [JEMALLOC_TCACHE_STASHED_BYTES]: stashed,
    });

    it('takes the merged figure, the sum of the per-arena ones', () => {
      const perArena = [...text.matchAll(/^tcache_bytes:\s+(\d+)$/gm)].map((match) => Number(match[1]));
      expect(perArena.length).toBeGreaterThan(2);
      expect(perArena[0]).toBe(cached);
      expect(perArena.slice(1).reduce((a, b) => a + b)).toBe(cached);
      expect(withCaches.threadCacheBytes).toBe(cached + stashed);
    });

    it('counts the cached bytes free, not in use: allocated − tcache bytes, free grown by as much', () => {
      expect(cached).toBeGreaterThan(MiB);
      expect(Math.abs(withCaches.allocatedBytes! - (allocated - cached - stashed))).toBeLessThan(128 * KiB);
      expect(withCaches.freeBytes! - stats.freeBytes!).toBe(cached + stashed);
      expect(withCaches.allocatedBytes! + withCaches.freeBytes! + withCaches.metadataBytes!).toBe(withCaches.residentBytes);
    });

    it('keeps releasable to the dirty pages: a purge does not return what thread caches hold', () => {
      expect(releasableRaw(withCaches)).toBe(releasableRaw(stats));
      expect(releasableRaw(withCaches)!).toBeLessThanOrEqual(withCaches.freeBytes! - cached - stashed);
    });
  });

  it('never goes negative when the cached bytes exceed what stats.allocated counts (reads from different moments)', () => {
    const skewed = normalize('jemalloc', { ...numbersAfter, [JEMALLOC_TCACHE_BYTES]: numbersAfter['stats.allocated'] + MiB });
    expect(skewed.allocatedBytes).toBe(0);
    expect(skewed.freeBytes).toBe(numbersAfter['stats.resident'] - numbersAfter['stats.metadata']);
    expect(skewed.freeBytes!).toBeLessThanOrEqual(skewed.residentBytes!);
  });
});

describe('normalize(tcmalloc) against MallocExtension::GetStats', () => {
  const text = recordedText('tcmalloc-stats.txt');
  const { numbers } = recordedMeta<Figures>('tcmalloc-stats');
  // `MALLOC: +   68214784 (   65.1 MiB) Bytes in page heap freelist`
  const figure = (label: string) => numberAfter(text, new RegExp(`MALLOC:\\s+[+=]?\\s*(?=\\d+ \\([^)]*\\) ${label})`));
  const stats = normalize('tcmalloc', numbers);

  it('takes metadata, resident and mapped bytes as tcmalloc prints them', () => {
    expect(stats.metadataBytes).toBe(figure('Bytes in malloc metadata'));
    // tcmalloc's "Actual memory used" includes its metadata; its heap (mapped here) does not.
    expect(stats.residentBytes).toBe(figure('Actual memory used') - figure('Bytes in malloc metadata'));
    expect(stats.mappedBytes).toBe(figure('Virtual address space used') - figure('Bytes in malloc metadata'));
  });

  it('counts free as page heap + central + transfer + thread caches, and releasable as the page heap alone', () => {
    const printedFree = [
      'Bytes in page heap freelist',
      'Bytes in central cache freelist',
      'Bytes in transfer cache freelist',
      'Bytes in thread cache freelists',
    ]
      .map(figure)
      .reduce((a, b) => a + b);
    // The addon's 16 KiB GetStats buffer moves from a thread cache to in use between the figures and the text.
    expect(Math.abs(stats.freeBytes! - printedFree)).toBeLessThan(32 * KiB);
    expect(Math.abs(stats.allocatedBytes! - figure('Bytes in use by application'))).toBeLessThan(32 * KiB);
    expect(releasableRaw(stats)).toBe(figure('Bytes in page heap freelist'));
  });
});

describe('normalize(mimalloc) against mi_stats_print', () => {
  const text = recordedText('mimalloc-stats.txt');
  const { numbers } = recordedMeta<Figures>('mimalloc-stats');
  const stats = normalize('mimalloc', numbers);

  it('takes mapped bytes as the committed memory mimalloc prints (it truncates to 0.1 MiB)', () => {
    const current = Number(/committed:\s+[\d.]+ MiB\s+[\d.]+ MiB\s+[\d.]+ MiB\s+([\d.]+) MiB/.exec(text)![1]);
    expect(stats.mappedBytes! / MiB).toBeGreaterThanOrEqual(current);
    expect(stats.mappedBytes! / MiB).toBeLessThan(current + 0.1);
  });

  it('gives null, never zero, for the byte counts a release build keeps none of', () => {
    expect(stats.allocatedBytes).toBeNull();
    expect(stats.freeBytes).toBeNull();
    expect(stats.residentBytes).toBeNull();
    expect(stats.metadataBytes).toBeNull();
    expect(stats.raw).toBe(numbers);
  });
});

describe('normalize(glibc) against malloc_info', () => {
  const { mallinfo2 } = recordedMeta<{ mallinfo2: NativeMallinfo2 }>('malloc-info-tls-spike');
  const xml = parseMallocInfo(recordedText('malloc-info-tls-spike.xml'));
  const stats = normalize('glibc', { ...mallinfo2 });

  it('maps arena and mmapped chunks, and counts mmapped chunks as in use', () => {
    expect(stats.mappedBytes).toBe(xml.total.systemBytes + xml.total.mmapBytes);
    // In use by malloc_info's account: system − free in the arenas, plus mmapped chunks.
    const inUse = xml.total.systemBytes - xml.total.freeBytes + xml.total.mmapBytes;
    expect(Math.abs(stats.allocatedBytes! - inUse)).toBeLessThan(32 * KiB);
    expect(stats.freeBytes).toBe(mallinfo2.fordblks);
    expect(stats.residentBytes).toBeNull();
  });
});

describe('allocatorStats() through the native seam', () => {
  it("normalises the serving allocator's figures, sync and on the threadpool", async () => {
    const { numbers } = recordedMeta<Figures>('tcmalloc-stats');
    vi.resetModules(); // the allocator is resolved once per process
    const fake = (await import('../helpers/fake-native')).installFakeNative((f) => {
      f.owner = { ...f.owner, glibc: false, tcmalloc: true, path: '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4', tcmallocVersion: 'gperftools 2.10' };
      f.numbers.tcmalloc = numbers;
    });
    const { allocatorStats, allocatorStatsAsync } = await import('../../src/memory/stats');
    expect(allocatorStats()).toEqual(normalize('tcmalloc', numbers));
    expect(await allocatorStatsAsync()).toEqual(normalize('tcmalloc', numbers));
    expect([fake.count('allocatorNumbers'), fake.count('allocatorNumbersAsync')]).toEqual([1, 1]);
  });
});
