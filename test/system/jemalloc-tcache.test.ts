// jemalloc's stats.allocated counts freed blocks that wait in thread caches. allocatorStats()
// must count them free: checked against a known workload (blocks kept, then some freed into
// the calling thread's cache) and against jemalloc's own malloc_stats_print text.
import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';
import { numberAfter } from '../helpers/recorded';

interface Figures {
  allocatedBytes: number;
  freeBytes: number;
  threadCacheBytes: number | null;
  residentBytes: number;
  metadataBytes: number;
  raw: Record<string, number>;
}
interface Result {
  blockBytes: number;
  freed: number;
  flushed: boolean;
  before: Figures;
  after: Figures;
  text: string;
}

const KiB = 1024;

describe('allocatorStats() under jemalloc, thread caches counted free', () => {
  it('drops the in-use figure by the bytes freed into a thread cache, and matches malloc_stats_print', async () => {
    const { json } = await runFixture<Result>('jemalloc-tcache.js', { preload: 'jemalloc' });
    const { before, after, text } = json;
    const freedBytes = json.freed * json.blockBytes;
    expect(json.flushed).toBe(true);
    expect(after.threadCacheBytes).not.toBeNull();

    // The known workload: what the program freed leaves the in-use figure and joins the free one.
    // Other allocations between the two reads (the reads' own) stay within a few KiB.
    expect(Math.abs(before.allocatedBytes - after.allocatedBytes - freedBytes)).toBeLessThan(32 * KiB);
    expect(Math.abs(after.freeBytes - before.freeBytes - freedBytes)).toBeLessThan(32 * KiB);
    // Other threads' caches may fill or flush meanwhile (that leaves the in-use figure alone).
    expect(after.threadCacheBytes! - before.threadCacheBytes!).toBeGreaterThan(freedBytes / 2);
    // stats.allocated alone (the figure before thread caches were subtracted) barely moves: the
    // freed blocks still count as allocated there, so this test fails on the old figure.
    expect(Math.abs(before.raw['stats.allocated'] - after.raw['stats.allocated'] - freedBytes)).toBeGreaterThan(freedBytes / 2);

    // jemalloc's own text, taken right after: Allocated − merged tcache_bytes − tcache_stashed_bytes.
    // malloc_stats_print allocates its own buffers while it prints.
    const printed = /Allocated: (\d+), active: \d+, metadata: (\d+)[^,]*, resident: (\d+)/.exec(text);
    expect(printed).not.toBeNull();
    const [allocated, metadata, resident] = printed!.slice(1).map(Number);
    const merged = text.slice(text.indexOf('Merged arenas stats:'));
    const cached = numberAfter(merged, /tcache_bytes:\s+/) + numberAfter(merged, /tcache_stashed_bytes:\s+/);
    expect(cached).toBeGreaterThanOrEqual(freedBytes);
    expect(Math.abs(after.threadCacheBytes! - cached)).toBeLessThan(64 * KiB);
    expect(Math.abs(after.allocatedBytes - (allocated - cached))).toBeLessThan(128 * KiB);
    expect(Math.abs(after.metadataBytes - metadata)).toBeLessThan(128 * KiB);
    // Other threads (V8's on Node 26) touch pages between the read and the text.
    expect(Math.abs(after.residentBytes - resident)).toBeLessThan(256 * KiB);

    // Consistent: nothing negative, in use + free + metadata = resident.
    for (const figures of [before, after]) {
      expect(figures.allocatedBytes).toBeGreaterThan(0);
      expect(figures.freeBytes).toBeGreaterThanOrEqual(0);
      expect(figures.freeBytes).toBeLessThanOrEqual(figures.residentBytes);
      expect(figures.allocatedBytes + figures.freeBytes + figures.metadataBytes).toBe(figures.residentBytes);
    }
    console.info(
      `jemalloc: freed ${freedBytes} B into the JS thread's cache; in use fell ${before.allocatedBytes - after.allocatedBytes} B ` +
        `(stats.allocated ${before.raw['stats.allocated'] - after.raw['stats.allocated']} B); thread caches ${after.threadCacheBytes} B, ` +
        `malloc_stats_print ${cached} B`,
    );
  });
});
