import { beforeAll, describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Result {
  mallinfo: Record<string, number>;
  mallinfoAfter: Record<string, number>;
  mallocInfo: {
    arenas: Array<{ systemBytes: number; freeBytes: number; inUseBytes: number }>;
    total: { systemBytes: number; mmapBytes: number; mmapCount: number; freeBytes: number };
  };
  stats: string;
}

/** glibc's malloc_stats() text: per arena and "Total (incl. mmap)" system / in use bytes. */
function parseMallocStats(text: string) {
  const arenas = [...text.matchAll(/Arena (\d+):\nsystem bytes\s+=\s+(\d+)\nin use bytes\s+=\s+(\d+)/g)].map((m) => ({
    system: Number(m[2]),
    inUse: Number(m[3]),
  }));
  const total = /Total \(incl\. mmap\):\nsystem bytes\s+=\s+(\d+)\nin use bytes\s+=\s+(\d+)/.exec(text);
  const mmap = /max mmap regions\s+=\s+(\d+)\nmax mmap bytes\s+=\s+(\d+)/.exec(text);
  return { arenas, system: Number(total?.[1]), inUse: Number(total?.[2]), maxMmapRegions: Number(mmap?.[1]) };
}

describe("glibc figures against glibc's own malloc_stats() text", () => {
  let result: Result;
  beforeAll(async () => {
    result = (await runFixture<Result>('glibc-reference.js')).json;
  });

  it('reads several arenas', () => {
    expect(result.mallocInfo.arenas.length).toBeGreaterThan(1);
    expect(parseMallocStats(result.stats).arenas.length).toBe(result.mallocInfo.arenas.length);
  });

  it('mallinfo() system and in-use bytes equal malloc_stats() totals', () => {
    const reference = parseMallocStats(result.stats);
    // The text was taken between two mallinfo() reads; V8's and libuv's threads may allocate
    // meanwhile, so each total lies between the two reads, give or take the reads' own few KiB.
    const between = (value: number, read: (m: Record<string, number>) => number) => {
      const [a, b] = [read(result.mallinfo), read(result.mallinfoAfter)];
      expect(value).toBeGreaterThanOrEqual(Math.min(a, b) - 64 * 1024);
      expect(value).toBeLessThanOrEqual(Math.max(a, b) + 64 * 1024);
    };
    between(reference.system, (m) => m.arena + m.hblkhd);
    between(reference.inUse, (m) => m.uordblks + m.hblkhd);
  });

  it('mallocInfo() per-arena figures match malloc_stats() per arena', () => {
    const reference = parseMallocStats(result.stats).arenas;
    result.mallocInfo.arenas.forEach((arena, i) => {
      expect(Math.abs(arena.systemBytes - reference[i].system)).toBeLessThan(64 * 1024);
    });
  });

  it('mallocInfo() totals agree with mallinfo()', () => {
    const { total, arenas } = result.mallocInfo;
    expect(Math.abs(total.systemBytes - result.mallinfo.arena)).toBeLessThan(64 * 1024);
    expect(total.mmapBytes).toBe(result.mallinfo.hblkhd);
    expect(total.mmapCount).toBe(result.mallinfo.hblks);
    expect(arenas.reduce((sum, a) => sum + a.systemBytes, 0)).toBe(total.systemBytes);
    expect(arenas.reduce((sum, a) => sum + a.freeBytes, 0)).toBe(total.freeBytes);
  });
});
