import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';
import { LoopGaps, loopWaitQuantileMs, MAX_LOOP_GAPS } from './loop-delay';
import type { LoopWatch } from './loop-watch';

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
  /** The loop's p99 delay during the release against a window without one just before it. */
  loopDelay: LoopDelayAdded;
}

/** The p99 of the delay a request arriving at a random moment would have seen before the loop turned. */
export interface LoopDelayAdded {
  /** p99Ms − baselineP99Ms, at least 0 (a release measured quieter than its baseline adds nothing: both figures say so). */
  addedP99Ms: number;
  /** Over the release's window, from the call (after the baseline) to the result. */
  p99Ms: number;
  /** Over the baseline window: the same loop with its traffic, just before the release started. */
  baselineP99Ms: number;
  windowMs: number;
  baselineWindowMs: number;
  /** How the figures are made. */
  source: string;
  /** Why the window is shorter than the release (more gaps than are kept), or the baseline shorter than 200 ms
   *  (a release near a memory limit does not wait for one); null otherwise. */
  note: string | null;
}

/** The window without a release the release's loop delay is compared with. */
export const BASELINE_WINDOW_MS = 200;

export const LOOP_DELAY_SOURCE =
  'a 1 ms timer on the JS thread: each gap between its turns, a request arriving in it waits until the gap ends; ' +
  'p99 of that wait over the time of the window (not per timer turn, where one long stall is a single sample)';

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
  private currentStep = 'baseline';
  private lastTurn = performance.now();
  private readonly stepTimer: NodeJS.Timeout;
  /** Every gap between the 1 ms timer's turns (bounded), for the loop's p99 delay. */
  private readonly gaps = new LoopGaps();
  private gapsFull = false;
  private baselineFromMs = Number.NaN;
  private baselineNote: string | null = null;
  private gapsCoverStalls = false;
  private releaseFromMs = Number.NaN;

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

  /** Waits for the monitor's first timer turns (it measures intervals between turns, so a
   *  stall before its first turn would go unseen; at most ~20 ms), then for `baselineMs` of the
   *  loop as it is without a release: the window the release's loop delay is compared with.
   *  With a running `recent` watch, its last `baselineMs` are the baseline and nothing is awaited. */
  async started(baselineMs = BASELINE_WINDOW_MS, recent?: LoopWatch): Promise<this> {
    if (recent?.running) return this.startedFrom(recent, baselineMs);
    await this.firstTurns();
    this.baselineFromMs = performance.now();
    if (baselineMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, baselineMs));
      // longestStallMs is the release's own: the baseline's turns leave the histogram, which
      // after a reset again needs a first turn to measure from.
      this.histogram.reset();
      await this.firstTurns();
    }
    this.closeGap();
    this.releaseFromMs = performance.now();
    this.currentStep = 'start';
    return this;
  }

  /** Takes the baseline from the loop's recent gaps and starts at once: a release near a memory
   *  limit must not wait for a figure. Where they cover less than `baselineMs`, the note says so. */
  private startedFrom(recent: LoopWatch, baselineMs: number): this {
    const now = performance.now();
    const coveredFrom = recent.coveredFromMs;
    this.baselineFromMs = Number.isFinite(coveredFrom) ? Math.max(now - baselineMs, coveredFrom) : now;
    recent.copyInto(this.gaps, this.baselineFromMs);
    // The gap still open (from the watch's last turn) belongs to the baseline: closeGap ends it now.
    this.lastTurn = Math.min(this.lastTurn, recent.lastTurnMs);
    this.closeGap();
    this.releaseFromMs = performance.now();
    this.currentStep = 'start';
    // The histogram has no turn yet: the longest stall is taken from the 1 ms gaps as well (stop()).
    this.gapsCoverStalls = true;
    const coveredMs = this.releaseFromMs - this.baselineFromMs;
    if (coveredMs < baselineMs - 1)
      this.baselineNote =
        `the baseline covers the ${coveredMs.toFixed(0)} ms of loop watched before the release, not ${baselineMs} ms: ` +
        'near a memory limit the release did not wait for it';
    return this;
  }

  private async firstTurns(): Promise<void> {
    for (let waited = 0; this.histogram.count === 0 && waited < 20; waited += 2) await new Promise((resolve) => setTimeout(resolve, 2));
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
    if (this.currentStep !== 'baseline') this.stepStalls[this.currentStep] = Math.max(this.stepStalls[this.currentStep] ?? 0, now - this.lastTurn);
    if (!this.gapsFull && !this.gaps.add(now, now - this.lastTurn)) this.gapsFull = true;
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
    const releaseToMs = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 2));
    await new Promise((resolve) => setImmediate(resolve));
    this.closeGap();
    this.dispose();
    const histogramMax = this.histogram.count > 0 ? this.histogram.max * MS_PER_NS : 0;
    const longest = this.gapsCoverStalls ? Math.max(histogramMax, this.gaps.longestMs(this.releaseStartMs, releaseToMs + 2)) : histogramMax;
    const ownMs = this.ownSteps.reduce((sum, [start, end]) => sum + (end - start), 0);
    const inOwnStep = (pause: GcPause) => this.ownSteps.some(([start, end]) => pause.startMs >= start && pause.startMs <= end);
    // The release's own GC pauses: not the baseline's.
    const from = this.releaseStartMs;
    const gcMs = this.gcPauses.filter((pause) => pause.startMs >= from && !inOwnStep(pause)).reduce((sum, pause) => sum + pause.durationMs, 0);
    const longestGcPauseMs = Math.max(0, ...this.gcPauses.filter((pause) => pause.startMs >= from).map((pause) => pause.durationMs));
    return {
      longestStallMs: longest,
      totalMs: ownMs + gcMs,
      longestStallMsByStep: { ...this.stepStalls },
      longestGcPauseMs,
      loopDelay: this.loopDelay(releaseToMs),
    };
  }

  /** Where the release's window starts: after the baseline; without started() (a meter used
   *  directly) there is no baseline and the meter's whole life is the window. */
  private get releaseStartMs(): number {
    return Number.isNaN(this.releaseFromMs) ? this.startedAt : this.releaseFromMs;
  }

  private loopDelay(releaseToMs: number): LoopDelayAdded {
    const releaseFrom = this.releaseStartMs;
    const baselineFrom = Number.isNaN(this.baselineFromMs) ? releaseFrom : this.baselineFromMs;
    const releaseTo = this.gapsFull ? Math.min(releaseToMs, this.gaps.lastEndMs) : releaseToMs;
    const p99Ms = loopWaitQuantileMs(this.gaps, releaseFrom, releaseTo);
    const baselineP99Ms = loopWaitQuantileMs(this.gaps, baselineFrom, releaseFrom);
    return {
      addedP99Ms: Math.max(0, p99Ms - baselineP99Ms),
      p99Ms,
      baselineP99Ms,
      windowMs: Math.max(0, releaseTo - releaseFrom),
      baselineWindowMs: releaseFrom - baselineFrom,
      source: LOOP_DELAY_SOURCE,
      note:
        [
          this.gapsFull
            ? `the release outlasted the ${MAX_LOOP_GAPS} timer gaps kept: its window covers its first ` +
              `${(releaseTo - releaseFrom).toFixed(0)} ms of ${(releaseToMs - releaseFrom).toFixed(0)}`
            : null,
          this.baselineNote,
        ]
          .filter((note) => note !== null)
          .join('; ') || null,
    };
  }
}

function gcKind(entry: PerformanceEntry): number {
  const detail = entry as PerformanceEntry & { detail?: { kind?: number }; kind?: number };
  return detail.detail?.kind ?? detail.kind ?? 0;
}
