import { describe, expect, it } from 'vitest';
import { LIBS, runFixture, type PreloadName } from '../helpers/child';
import type { AllocatorIdentity, AllocatorStats } from '../../src';

type Stats = Pick<AllocatorStats, 'allocator' | 'allocatedBytes' | 'freeBytes' | 'mappedBytes' | 'raw'>;
interface ProbeResult {
  allocator: AllocatorIdentity;
  capabilities: Record<string, true | string>;
  before: Stats;
  held: Stats;
  after: Stats;
  glibcOnly: Record<string, string | null>;
  blockBytes: number;
}

const allocators: PreloadName[] = ['glibc', 'jemalloc', 'tcmalloc', 'mimalloc'];

describe.each(allocators)('under %s', (name) => {
  let result: ProbeResult;
  it('names the allocator that really serves malloc, from its own object', async () => {
    const run = await runFixture<ProbeResult>('allocator-probe.js', { preload: name });
    expect(run.code).toBe(0);
    result = run.json;
    expect(result.allocator.name).toBe(name);
    expect(result.allocator.library).toEqual(name === 'glibc' ? expect.stringMatching(/libc\.so\.6$/) : LIBS[name as keyof typeof LIBS]);
    expect(result.allocator.version).toMatch(/\d+\.\d+/);
    expect(result.capabilities.allocator).toBe(name);
  });

  it('follows a 64 MiB native allocation and its free, or says it cannot', () => {
    const { before, held, after, blockBytes, capabilities } = result;
    if (name === 'mimalloc') {
      // mimalloc's release build counts no allocated bytes: null, with the reason, never 0.
      expect(held.allocatedBytes).toBeNull();
      expect(capabilities.allocatedBytes).toMatch(/mimalloc/);
      expect(held.mappedBytes! - before.mappedBytes!).toBeGreaterThan(0.9 * blockBytes);
      return;
    }
    expect(capabilities.allocatedBytes).toBe(true);
    expect(held.allocatedBytes! - before.allocatedBytes!).toBeGreaterThanOrEqual(0.9 * blockBytes);
    expect(held.allocatedBytes! - after.allocatedBytes!).toBeGreaterThanOrEqual(0.9 * blockBytes);
    expect(after.allocatedBytes!).toBeLessThan(before.allocatedBytes! + 0.1 * blockBytes);
  });

  it('keeps glibc-only calls to glibc', () => {
    const expected = name === 'glibc' ? null : 'ERR_NOT_GLIBC';
    expect(result.glibcOnly).toEqual({ mallinfo: expected, mallocInfo: expected, mallocStatsText: expected });
    expect(result.capabilities.mallinfo).toEqual(name === 'glibc' ? true : expect.stringContaining(name));
  });

  it('keeps every native figure under its own name in raw', () => {
    const keys = Object.keys(result.held.raw);
    const expected = { glibc: 'uordblks', jemalloc: 'stats.allocated', tcmalloc: 'generic.current_allocated_bytes', mimalloc: 'current_commit' }[name];
    expect(keys).toContain(expected);
  });
});
