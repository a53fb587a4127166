/**
 * The event loop's delay as a request sees it. A 1 ms timer's turns split time into gaps; a
 * request arriving inside a gap waits until the loop turns at its end. Weighted by time, not by
 * timer turn: one 150 ms stall is a single sample among hundreds of 1 ms turns in
 * monitorEventLoopDelay's histogram (its p99 barely moves), yet every request that arrives
 * during it waits — on average half of it.
 */

/** At most this many gaps are kept per window (at least 32 s of 1 ms turns), so memory stays bounded. */
export const MAX_LOOP_GAPS = 32768;

/** Gaps between turns of a 1 ms timer, each kept as the time it ended and its length (ms). */
export class LoopGaps {
  private readonly ends: number[] = [];
  private readonly lengths: number[] = [];

  /** Records a gap; false (and nothing kept) once MAX_LOOP_GAPS are held. */
  add(endMs: number, lengthMs: number): boolean {
    if (this.ends.length >= MAX_LOOP_GAPS) return false;
    this.ends.push(endMs);
    this.lengths.push(lengthMs);
    return true;
  }

  get size(): number {
    return this.ends.length;
  }

  /** The end of the last gap kept: where the recorded time stops. */
  get lastEndMs(): number {
    return this.ends.at(-1) ?? Number.NaN;
  }

  /** Milliseconds of [fromMs, toMs] during which a request arriving would have waited more than `waitMs`. */
  timeWaitingOverMs(fromMs: number, toMs: number, waitMs: number): number {
    let total = 0;
    for (let i = 0; i < this.ends.length; i++) {
      const end = this.ends[i];
      const start = end - this.lengths[i];
      // Arrivals at t in [start, end] wait end − t: more than waitMs for t < end − waitMs.
      const over = Math.min(end - waitMs, toMs) - Math.max(start, fromMs);
      if (over > 0) total += over;
    }
    return total;
  }

  /** The gaps longer than `lengthMs` (a copy). */
  longerThan(lengthMs: number): LoopGaps {
    const kept = new LoopGaps();
    for (let i = 0; i < this.ends.length; i++) if (this.lengths[i] > lengthMs) kept.add(this.ends[i], this.lengths[i]);
    return kept;
  }

  /** The longest gap overlapping [fromMs, toMs]. */
  longestMs(fromMs: number, toMs: number): number {
    let longest = 0;
    for (let i = 0; i < this.ends.length; i++) {
      if (this.ends[i] > fromMs && this.ends[i] - this.lengths[i] < toMs) longest = Math.max(longest, this.lengths[i]);
    }
    return longest;
  }
}

/**
 * The `quantile` (0..1) of the wait a request arriving at a uniformly random moment of
 * [fromMs, toMs] had before the loop turned: the smallest wait exceeded during no more than
 * (1 − quantile) of the window. Within 10 µs (bisection over the gaps that can still matter,
 * so a quiet loop's many 1 ms gaps drop out after the first steps).
 */
export function loopWaitQuantileMs(gaps: LoopGaps, fromMs: number, toMs: number, quantile = 0.99): number {
  const windowMs = toMs - fromMs;
  if (!(windowMs > 0) || gaps.size === 0) return 0;
  const allowed = (1 - quantile) * windowMs;
  let low = 0;
  let high = gaps.longestMs(fromMs, toMs);
  let candidates: LoopGaps = gaps;
  while (high - low > 0.01) {
    const middle = (low + high) / 2;
    if (candidates.timeWaitingOverMs(fromMs, toMs, middle) > allowed) {
      low = middle;
      candidates = candidates.longerThan(low); // a gap no longer than the wait adds no time over it
    } else {
      high = middle;
    }
  }
  return high;
}
