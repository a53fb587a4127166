import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';

/** What a release cost the JS thread. */
export interface JsThreadCost {
  /** Longest interval between two turns of a 1 ms event-loop timer while the release ran
   *  (monitorEventLoopDelay): the worst stall a request could have seen, whatever caused it —
   *  GC pauses, our own calls, mallocs waiting on an allocator lock a trim holds, and any
   *  other work the application did meanwhile. Includes the 1 ms timer period itself. */
  longestStallMs: number;
  /** Time the release itself held the JS thread: its synchronous calls plus the GC pauses V8
   *  reported meanwhile. Waits on allocator locks are not in it (nothing reports them);
   *  they show in longestStallMs. */
  totalMs: number;
  /** The longest stall per step of the release (`gc`: the heap-shrinking GC until it finished;
   *  `trim`: the allocator's release with the stats reads around it), from a 1 ms timer on the
   *  same loop, each gap counted for the step it fell in (split at a step change): pins a stall on V8 or on
   *  the allocator. Close to longestStallMs, not equal (another timer, same loop). */
  longestStallMsByStep: Record<string, number>;
  /** Longest single GC pause V8 reported during the release (its own 'gc' performance entries). */
  longestGcPauseMs: number;
}

export interface GcPause {
  /** perf_hooks.constants.NODE_PERFORMANCE_GC_*: 1 minor, 4 major, 8 incremental marking, 16 weak callbacks. */
  kind: number;
  startMs: number;
  durationMs: number;
}

const MS_PER_NS = 1e-6;

/**
 * Measures a release from the JS thread's side: a 1 ms loop-delay monitor, the GC pauses
 * V8 reports ('gc' performance entries) and the synchronous steps run through `run()`.
 */
export class JsThreadMeter {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });
  private readonly observer: PerformanceObserver;
  private readonly startedAt = performance.now();
  /** [start, end] of each synchronous step, so GC pauses inside one are not counted twice. */
  private readonly ownSteps: Array<[number, number]> = [];
  readonly gcPauses: GcPause[] = [];
  private readonly gcListeners = new Set<() => void>();
  /** Longest gap between turns of a 1 ms timer, per step of the release (see step()). */
  private readonly stepStalls: Record<string, number> = {};
  private currentStep = 'start';
  private lastTurn = performance.now();
  private readonly stepTimer: NodeJS.Timeout;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.gcPauses.push({ kind: gcKind(entry), startMs: entry.startTime, durationMs: entry.duration });
      for (const listener of this.gcListeners) listener();
    });
    this.observer.observe({ entryTypes: ['gc'] });
    this.histogram.enable();
    // The histogram cannot say which step a stall fell in (resetting it loses the interval
    // that straddles the reset), so a plain 1 ms timer on the same loop attributes each gap to
    // the step running when it ended (a gap open at a step change is split there). Unref'd.
    this.stepTimer = setInterval(() => this.closeGap(), 1);
    this.stepTimer.unref();
  }

  /** Waits for the monitor's first timer turns: it measures intervals between turns, so a
   *  stall before its first turn would go unseen. At most ~20 ms. */
  async started(): Promise<this> {
    for (let waited = 0; this.histogram.count === 0 && waited < 20; waited += 2) await new Promise((resolve) => setTimeout(resolve, 2));
    return this;
  }

  /** Starts a named step of the release: time from now on counts for it. */
  step(name: string): void {
    // Time since the last turn belongs to the step ending: a synchronous block (a blocking GC)
    // followed at once by the next step would otherwise be counted for the next one.
    this.closeGap();
    this.currentStep = name;
  }

  private closeGap(): void {
    const now = performance.now();
    this.stepStalls[this.currentStep] = Math.max(this.stepStalls[this.currentStep] ?? 0, now - this.lastTurn);
    this.lastTurn = now;
  }

  /** Duration (ms) of the last step run through run(). */
  get lastStepMs(): number {
    const last = this.ownSteps.at(-1);
    return last ? last[1] - last[0] : 0;
  }

  /** Runs a synchronous step on the JS thread and counts its time. */
  run<T>(step: () => T): T {
    const start = performance.now();
    try {
      return step();
    } finally {
      this.ownSteps.push([start, performance.now()]);
    }
  }

  /** Called after each batch of GC entries arrives. Returns the unsubscribe function. */
  onGc(listener: () => void): () => void {
    this.gcListeners.add(listener);
    return () => this.gcListeners.delete(listener);
  }

  /** GC pause time (ms) reported since `sinceMs` (a performance.now() time). */
  gcPauseMsSince(sinceMs: number): number {
    return this.gcPauses.filter((pause) => pause.startMs >= sinceMs).reduce((sum, pause) => sum + pause.durationMs, 0);
  }

  /** Stops the 1 ms monitor and the GC observer at once; idempotent. A release that fails
   *  midway must not leave them running in the host process. */
  dispose(): void {
    this.histogram.disable();
    clearInterval(this.stepTimer);
    this.observer.disconnect();
    this.gcListeners.clear();
  }

  /** Stops measuring, after one more timer turn (the interval that closes a last stall) and
   *  the GC entries, which arrive a turn late. */
  async stop(): Promise<JsThreadCost> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    await new Promise((resolve) => setImmediate(resolve));
    this.closeGap();
    this.dispose();
    const longest = this.histogram.count > 0 ? this.histogram.max * MS_PER_NS : 0;
    const ownMs = this.ownSteps.reduce((sum, [start, end]) => sum + (end - start), 0);
    const inOwnStep = (pause: GcPause) => this.ownSteps.some(([start, end]) => pause.startMs >= start && pause.startMs <= end);
    const gcMs = this.gcPauses.filter((pause) => pause.startMs >= this.startedAt && !inOwnStep(pause)).reduce((sum, pause) => sum + pause.durationMs, 0);
    const longestGcPauseMs = Math.max(0, ...this.gcPauses.filter((pause) => pause.startMs >= this.startedAt).map((pause) => pause.durationMs));
    return { longestStallMs: longest, totalMs: ownMs + gcMs, longestStallMsByStep: { ...this.stepStalls }, longestGcPauseMs };
  }
}

function gcKind(entry: PerformanceEntry): number {
  const detail = entry as PerformanceEntry & { detail?: { kind?: number }; kind?: number };
  return detail.detail?.kind ?? detail.kind ?? 0;
}
