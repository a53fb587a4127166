import { describe, expect, it } from 'vitest';
import { runFixture } from '../helpers/child';
import type { OpensslStats } from '../../src';

type Stats = Pick<OpensslStats, 'tracking' | 'liveBytes' | 'liveAllocations' | 'allocations'>;
interface Result {
  cycles: number;
  busySessions: number;
  workerIterations: number[];
  phases: Stats[];
  violationCount: number;
  violations: unknown[];
  error?: string;
}

describe('OpenSSL tracking under concurrent start/stop', () => {
  it('survives 1000 start/stop cycles while workers and the threadpool run crypto and TLS, with no negative or drifting counter', async () => {
    const { code, signal, json } = await runFixture<Result>('openssl-churn.js', { args: ['1000'], nodeArgs: ['--expose-gc'] });
    expect(json.error).toBeUndefined();
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(json.cycles).toBe(1000);
    // The cycles really met OpenSSL traffic on other threads.
    expect(json.busySessions).toBeGreaterThan(100);
    for (const iterations of json.workerIterations) expect(iterations).toBeGreaterThan(10);
    expect(json.violations).toEqual([]);
    // Three identical load phases in one session, each brought to a quiet point: the live
    // figures agree although hundreds of thousands of blocks came and went in between.
    const [first, ...rest] = json.phases;
    expect(first.tracking).toBe(true);
    for (const phase of rest) {
      expect(phase.allocations).toBeGreaterThan(first.allocations);
      expect(Math.abs(phase.liveBytes - first.liveBytes)).toBeLessThanOrEqual(1024);
      expect(phase.liveAllocations).toBeGreaterThanOrEqual(0);
    }
  });
});
