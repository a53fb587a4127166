import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';

interface Step {
  label: string;
  liveBytes: number;
  connections: number;
}

const K = 300;

// Tracking finds each block's trailer with the malloc_usable_size of whichever allocator
// serves malloc: the same OpenSSL figures must come out under each of them.
describe.each(['jemalloc', 'tcmalloc', 'mimalloc'] as const)('OpenSSL tracking with %s preloaded', (preload) => {
  it('counts the same bytes per kept hash object as under glibc and returns to baseline', async () => {
    const [glibc, other] = await Promise.all([
      runFixture<{ steps: Step[]; error?: string }>('openssl-hash-leak.js', { args: [String(K)] }),
      runFixture<{ steps: Step[]; error?: string }>('openssl-hash-leak.js', { args: [String(K)], preload }),
    ]);
    expect(other.json.error).toBeUndefined();
    const [baseline, k, twoK, released] = other.json.steps;
    expect(k.liveBytes - baseline.liveBytes).toBeGreaterThan(K * 32);
    expect(k.liveBytes - baseline.liveBytes).toBe(glibc.json.steps[1].liveBytes - glibc.json.steps[0].liveBytes);
    expect(twoK.liveBytes - baseline.liveBytes).toBe(2 * (k.liveBytes - baseline.liveBytes));
    expect(released.liveBytes).toBe(baseline.liveBytes);
  });
});
