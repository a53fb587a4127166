import { performance } from 'node:perf_hooks';
import type { LoopGaps } from './loop-delay';

/** Gaps kept: about a second of a quiet loop's 1 ms turns, more than a release's baseline needs. */
export const LOOP_WATCH_KEEP = 1024;

/**
 * The loop's last second of 1 ms timer gaps, kept while a release may be due at once (autoRelease
 * near a memory limit): the release takes its loop-delay baseline from them instead of first
 * watching the loop for 200 ms. A 1 ms timer costs the JS thread a few percent of a core
 * (measured: 50 ms of CPU a second on the 2-core VM), so it runs only while it may be needed.
 */
export class LoopWatch {
  private readonly ends = new Float64Array(LOOP_WATCH_KEEP);
  private readonly lengths = new Float64Array(LOOP_WATCH_KEEP);
  private next = 0;
  private kept = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastTurn = Number.NaN;

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts watching (idempotent). Unref'd: it never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.kept = 0;
    this.next = 0;
    this.lastTurn = performance.now();
    this.timer = setInterval(() => this.turn(), 1);
    this.timer.unref();
  }

  /** Stops watching and forgets what it saw (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.kept = 0;
    this.next = 0;
  }

  private turn(): void {
    const now = performance.now();
    this.ends[this.next] = now;
    this.lengths[this.next] = now - this.lastTurn;
    this.next = (this.next + 1) % LOOP_WATCH_KEEP;
    this.kept = Math.min(this.kept + 1, LOOP_WATCH_KEEP);
    this.lastTurn = now;
  }

  /** Where the kept gaps start (performance.now() time); NaN when nothing is kept. */
  get coveredFromMs(): number {
    if (this.kept === 0) return Number.NaN;
    const oldest = (this.next - this.kept + LOOP_WATCH_KEEP) % LOOP_WATCH_KEEP;
    return this.ends[oldest] - this.lengths[oldest];
  }

  /** The last turn of the timer: the gap still open runs from here to now. */
  get lastTurnMs(): number {
    return this.lastTurn;
  }

  /** Adds the kept gaps that end after `fromMs` to `into`, oldest first. */
  copyInto(into: LoopGaps, fromMs: number): void {
    for (let i = 0; i < this.kept; i++) {
      const at = (this.next - this.kept + i + LOOP_WATCH_KEEP) % LOOP_WATCH_KEEP;
      if (this.ends[at] > fromMs) into.add(this.ends[at], this.lengths[at]);
    }
  }
}
