import { describe, expect, it } from 'vitest';
import { LoopGaps, loopWaitQuantileMs, MAX_LOOP_GAPS } from '../../src/memory/loop-delay';
import { LOOP_WATCH_KEEP, LoopWatch } from '../../src/memory/loop-watch';
import { JsThreadMeter } from '../../src/memory/release-js-thread';

/** Gaps tiling [0, lengths' sum]: each gap ends where the next starts. */
function tiled(lengths: number[]): LoopGaps {
  const gaps = new LoopGaps();
  let at = 0;
  for (const length of lengths) {
    at += length;
    gaps.add(at, length);
  }
  return gaps;
}

/** The reference: arrivals every `stepMs` across the window, each waiting until the gap it fell in ends. */
function sampledQuantile(lengths: number[], fromMs: number, toMs: number, quantile: number, stepMs = 0.001): number {
  const ends: number[] = [];
  let at = 0;
  for (const length of lengths) ends.push((at += length));
  const waits: number[] = [];
  let gap = 0;
  for (let t = fromMs + stepMs / 2; t < toMs; t += stepMs) {
    while (ends[gap] <= t) gap++;
    waits.push(ends[gap] - t);
  }
  waits.sort((a, b) => a - b);
  return waits[Math.ceil(quantile * waits.length) - 1];
}

describe('loopWaitQuantileMs', () => {
  it('a quiet 1 ms loop waits at most 1 ms: its p99 is just under it', () => {
    const p99 = loopWaitQuantileMs(tiled(Array(200).fill(1)), 0, 200);
    expect(p99).toBeGreaterThan(0.97);
    expect(p99).toBeLessThanOrEqual(1.01);
  });

  it('one 50 ms stall in 150 ms of 1 ms turns: waits over d fill 50 − d ms, so the p99 is 48.5 ms', () => {
    const lengths = [...Array(50).fill(1), 50, ...Array(50).fill(1)];
    expect(loopWaitQuantileMs(tiled(lengths), 0, 150)).toBeCloseTo(48.5, 1);
    // The same stall as one sample among 100 timer turns would not reach a per-turn p99.
    expect(loopWaitQuantileMs(tiled(lengths), 0, 150, 0.5)).toBeLessThan(1);
  });

  it('counts only arrivals inside the window, each waiting until its gap ends even past the window', () => {
    const lengths = [...Array(10).fill(1), 40, ...Array(10).fill(1)]; // the stall spans 10–50
    // Window 30–60: arrivals 30–50 wait 20 down to 0 ms.
    expect(loopWaitQuantileMs(tiled(lengths), 30, 60)).toBeCloseTo(sampledQuantile(lengths, 30, 60, 0.99), 1);
    // Window 0–20: arrivals 10–20 wait 40 down to 30 ms.
    expect(loopWaitQuantileMs(tiled(lengths), 0, 20)).toBeCloseTo(sampledQuantile(lengths, 0, 20, 0.99), 1);
    expect(loopWaitQuantileMs(tiled(lengths), 0, 20)).toBeGreaterThan(39);
  });

  it('agrees with arrivals sampled every µs, for irregular gaps and several quantiles', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const lengths = Array.from({ length: 300 }, () => (random() < 0.03 ? 5 + random() * 60 : 0.8 + random() * 0.6));
    const total = lengths.reduce((sum, length) => sum + length, 0);
    for (const quantile of [0.5, 0.9, 0.99]) {
      expect(loopWaitQuantileMs(tiled(lengths), 17, total - 3, quantile)).toBeCloseTo(sampledQuantile(lengths, 17, total - 3, quantile), 1);
    }
  });

  it('is 0 for an empty window or no gaps', () => {
    expect(loopWaitQuantileMs(new LoopGaps(), 0, 100)).toBe(0);
    expect(loopWaitQuantileMs(tiled([1, 1]), 5, 5)).toBe(0);
  });

  it('keeps at most MAX_LOOP_GAPS gaps', () => {
    const gaps = new LoopGaps();
    for (let i = 1; i <= MAX_LOOP_GAPS; i++) expect(gaps.add(i, 1)).toBe(true);
    expect(gaps.add(MAX_LOOP_GAPS + 1, 1)).toBe(false);
    expect(gaps.size).toBe(MAX_LOOP_GAPS);
    expect(gaps.lastEndMs).toBe(MAX_LOOP_GAPS);
  });
});

describe("JsThreadMeter's loop delay", () => {
  it('a 40 ms block during the release adds to its p99 against the baseline before it', async () => {
    const meter = await new JsThreadMeter().started(60);
    const blockedFrom = performance.now();
    meter.run(() => {
      while (performance.now() - blockedFrom < 40);
    });
    const cost = await meter.stop();
    const { loopDelay } = cost;
    expect(loopDelay.baselineWindowMs).toBeGreaterThanOrEqual(59);
    expect(loopDelay.windowMs).toBeGreaterThanOrEqual(40);
    // Most of the release's window was the block: its p99 is most of it.
    expect(loopDelay.p99Ms).toBeGreaterThan(30);
    expect(loopDelay.p99Ms).toBeLessThanOrEqual(cost.longestStallMs + 1);
    expect(loopDelay.addedP99Ms).toBeCloseTo(loopDelay.p99Ms - loopDelay.baselineP99Ms, 6);
    expect(loopDelay.note).toBeNull();
    // The baseline's own turns are not in the release's steps.
    expect(Object.keys(cost.longestStallMsByStep)).not.toContain('baseline');
  });

  it("with a running LoopWatch the baseline is the watch's last gaps and the release starts at once", async () => {
    const watch = new LoopWatch();
    watch.start();
    // The reference: the longest gap another 1 ms timer on the same loop saw (the block, and what load adds to it).
    let longestGap = 0;
    let last = performance.now();
    const reference = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    try {
      await new Promise((resolve) => setTimeout(resolve, 150));
      // A 30 ms block the watch sees, then 100 ms of a quiet loop: both inside the last 200 ms.
      const blockedFrom = performance.now();
      while (performance.now() - blockedFrom < 30);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const called = performance.now();
      const meter = await new JsThreadMeter().started(200, watch);
      const startedInMs = performance.now() - called;
      const cost = await meter.stop();
      const { loopDelay } = cost;
      expect(startedInMs).toBeLessThan(50); // no 200 ms wait, no wait for the histogram's first turns
      expect(loopDelay.baselineWindowMs).toBeGreaterThan(199);
      expect(loopDelay.baselineWindowMs).toBeLessThan(205);
      // The block's gap (30 ms, more under load) fills ~31 of the 200 ms: waits over d last 31 − d ms, p99 ~29 ms.
      expect(loopDelay.baselineP99Ms).toBeGreaterThan(25);
      expect(loopDelay.baselineP99Ms).toBeLessThan(longestGap + 1);
      expect(loopDelay.note).toBeNull();
    } finally {
      clearInterval(reference);
      watch.stop();
    }
  });

  it('a watch started just before the release gives a shorter baseline, and the note says so', async () => {
    const watch = new LoopWatch();
    watch.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 40));
      const meter = await new JsThreadMeter().started(200, watch);
      const { loopDelay } = await meter.stop();
      expect(loopDelay.baselineWindowMs).toBeGreaterThan(35);
      expect(loopDelay.baselineWindowMs).toBeLessThan(150);
      expect(loopDelay.note).toMatch(
        /^the baseline covers the \d+ ms of loop watched before the release, not 200 ms: near a memory limit the release did not wait for it$/,
      );
    } finally {
      watch.stop();
    }
  });

  it('a stopped watch is not used: the meter waits for its own baseline', async () => {
    const watch = new LoopWatch();
    watch.start();
    watch.stop();
    expect(watch.running).toBe(false);
    expect(watch.coveredFromMs).toBeNaN();
    const called = performance.now();
    const meter = await new JsThreadMeter().started(50, watch);
    expect(performance.now() - called).toBeGreaterThanOrEqual(49);
    expect((await meter.stop()).loopDelay.baselineWindowMs).toBeGreaterThanOrEqual(49);
  });
});

describe('LoopWatch', () => {
  it(`keeps the last ${LOOP_WATCH_KEEP} gaps, oldest first, tiling the time it watched`, async () => {
    const watch = new LoopWatch();
    const startedAt = performance.now();
    watch.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 60));
      const gaps = new LoopGaps();
      watch.copyInto(gaps, -Infinity);
      expect(gaps.size).toBeGreaterThan(5);
      expect(gaps.size).toBeLessThanOrEqual(LOOP_WATCH_KEEP);
      expect(watch.coveredFromMs).toBeCloseTo(startedAt, 0);
      expect(gaps.lastEndMs).toBe(watch.lastTurnMs);
      // Only gaps ending after fromMs.
      const later = new LoopGaps();
      watch.copyInto(later, watch.lastTurnMs - 20);
      expect(later.size).toBeLessThan(gaps.size);
    } finally {
      watch.stop();
    }
  });
});
