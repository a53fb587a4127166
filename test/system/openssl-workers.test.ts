import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';
import type { OpensslStats } from '../../src';

type Stats = Pick<OpensslStats, 'liveBytes' | 'allocations' | 'frees' | 'liveAllocations'>;

describe('OpenSSL tracking across worker threads that come and go', () => {
  it('counts what exiting threads free, so live bytes return to baseline', async () => {
    const { code, json } = await runFixture<{ workers: number; baseline: Stats; after: Stats; error?: string }>('openssl-workers.js', { args: ['10'] });
    expect(json.error).toBeUndefined();
    expect(code).toBe(0);
    // Each worker allocated hundreds of OpenSSL blocks.
    expect(json.after.allocations).toBeGreaterThan(json.workers * 100);
    expect(Math.abs(json.after.liveBytes - json.baseline.liveBytes)).toBeLessThanOrEqual(1024);
    expect(json.after.liveAllocations).toBeLessThanOrEqual(json.workers / 8);
  });
});
