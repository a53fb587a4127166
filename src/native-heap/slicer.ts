/** The JS thread's share of one event-loop turn that long work takes before it yields. */
export const SLICE_MS = 0.5;

/**
 * Cuts long work on the JS thread into event-loop turns: the work asks `due()` between
 * steps and, when true, awaits `next()` (a setImmediate), so I/O and timers run between
 * slices. A step should stay well under `sliceMs`; what a turn costs is then about
 * `sliceMs` plus one step.
 */
export class TurnSlicer {
  private started = performance.now();
  /** Turns the work has taken so far (1 until the first next()). */
  turns = 1;

  constructor(private readonly sliceMs: number = SLICE_MS) {}

  due(): boolean {
    return performance.now() - this.started >= this.sliceMs;
  }

  async next(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.turns++;
    this.started = performance.now();
  }
}
