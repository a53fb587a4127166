import { describe, expect, it } from 'vitest';
import { runFixture, type PreloadName } from '../helpers/child';
import type { MemoryBreakdown } from '../../src';

interface Result {
  idle: MemoryBreakdown;
  withBuffer: MemoryBreakdown;
  smapsBefore: number;
  smapsRss: number;
}

const MiB = 1024 * 1024;

describe.each<PreloadName>(['glibc', 'jemalloc'])('memoryBreakdown() under %s', (name) => {
  it('splits RSS into exclusive parts that add up, and places a 32 MiB Buffer in external', async () => {
    const { json } = await runFixture<Result>('breakdown.js', { preload: name });
    const { idle, withBuffer, smapsBefore, smapsRss } = json;
    // RSS agrees with /proc/self/smaps_rollup, read independently just before and just after.
    expect(idle.rss.bytes!).toBeGreaterThan(Math.min(smapsBefore, smapsRss) - 4 * MiB);
    expect(idle.rss.bytes!).toBeLessThan(Math.max(smapsBefore, smapsRss) + 4 * MiB);
    for (const b of [idle, withBuffer]) {
      const parts = (['jsHeap', 'external', 'nativeInUse', 'nativeFree', 'codeAndLibraries', 'other'] as const).map((k) => b[k].bytes ?? 0);
      expect(parts.reduce((a, c) => a + c, 0)).toBeGreaterThanOrEqual(b.rss.bytes! - 1);
      for (const part of parts) expect(part).toBeGreaterThanOrEqual(0);
    }
    expect(withBuffer.external.bytes! - idle.external.bytes!).toBeGreaterThanOrEqual(32 * MiB);
    expect(Math.abs(withBuffer.nativeInUse.bytes! - idle.nativeInUse.bytes!)).toBeLessThan(8 * MiB);
    expect(idle.nativeInUse.source).toMatch(name === 'glibc' ? /mallinfo2/ : /jemalloc/);
  });
});
