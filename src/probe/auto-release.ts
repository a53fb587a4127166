import { SockprobeTypeError } from '../errors';
import type { JsThreadCost, ReleaseOptions, ReleaseResult } from '../memory/release';
import { totalConnections, type Sample } from './sample';

export interface AutoReleaseOptions {
  /** Release once at least this much looks releasable (resident free native plus V8 heap grown since before the spike). Default 16 MiB. */
  minReleasableBytes?: number;
  /** Connections must have fallen by this share of the peak, and by at least 50. Default 0.5. */
  dropFraction?: number;
  /** At most one release per this many ms. Default 30 000. */
  minIntervalMs?: number;
  /** Skip moments whose event-loop delay exceeded this (the process is busy). Default 100 ms. */
  maxEventLoopDelayMs?: number;
  /** Give memory back at a byte budget per second, like Go's scavenger: `true` for 64 MiB/s,
   *  or `{ bytesPerSecond }`. Paces the sliced allocators (jemalloc per arena, tcmalloc per
   *  ReleaseToSystem call of at most a tenth of a second's budget), so no slice holds a lock
   *  or a core for long; glibc's malloc_trim and mimalloc's mi_collect are one call each. The
   *  heap-shrinking GC runs as in releaseToOS(): without it the dead sockets' native memory
   *  and V8's grown heap stay (measured: 50–60 MiB above baseline 10 s later), and its final
   *  pause is V8's (see the release benchmark). Default false. */
  pace?: boolean | { bytesPerSecond?: number };
}

/** The default budget of a paced autoRelease: 250 MiB back after a 5000-connection spike in ~4 s. */
export const DEFAULT_PACE_BYTES_PER_SECOND = 64 * 1024 * 1024;

export type AutoReleaseDecision = { release: true; reason: string; expectedBytes: number } | { release: false; reason: string };

/** What one autoRelease did: when, why, what came back and what each step cost the JS thread. */
export interface AutoReleaseRecord {
  /** When the release started, ms since the epoch. */
  time: number;
  reason: string;
  /** What looked releasable when it was decided (resident free native + V8 heap above the pre-spike level). */
  expectedBytes: number;
  result: {
    allocator: ReleaseResult['allocator'];
    method: string;
    /** RSS before − after, from /proc: the GC and the trim together. */
    releasedBytes: number;
    /** Of that, measured across the trim alone. */
    trimReleasedBytes: number;
    /** Wall time of the trim; on the JS thread only when `onThreadpool` is false. */
    trimMs: number;
    onThreadpool: boolean;
    /** The heap-shrinking GC, always on the JS thread; null when none ran. */
    gc: { durationMs: number; releasedBytes: number } | null;
    /** Time the release held the JS thread (releaseToOS()'s jsThread.totalMs: its synchronous
     *  calls and the GC pauses V8 reports). */
    jsThreadMs: number;
    /** Wall time of the whole release (GC, trim, stats reads, waits of a paced release). */
    wallMs: number;
    /** The pace kept and the time waited for it; null unpaced. */
    paced: ReleaseResult['paced'];
    /** Kept for older readers: the same as trimMs (the trim alone, not the GC). */
    durationMs: number;
    rssBeforeBytes: number;
    rssAfterBytes: number;
    /** releaseToOS()'s own account of the JS thread: the longest event-loop stall across it and the total. */
    jsThread: JsThreadCost;
  } | null;
  error?: string;
}

/** The record of a release the policy asked for. */
export function releaseRecord(time: number, decision: { reason: string; expectedBytes: number }, result: ReleaseResult): AutoReleaseRecord {
  const gc = result.gc ? { durationMs: result.gc.durationMs, releasedBytes: result.gc.releasedBytes } : null;
  return {
    time,
    reason: decision.reason,
    expectedBytes: decision.expectedBytes,
    result: {
      allocator: result.allocator,
      method: result.method,
      releasedBytes: result.releasedBytes,
      trimReleasedBytes: result.trimReleasedBytes,
      trimMs: result.durationMs,
      onThreadpool: result.onThreadpool,
      gc,
      jsThreadMs: result.jsThread.totalMs,
      wallMs: result.wallMs,
      paced: result.paced ?? null,
      durationMs: result.durationMs,
      rssBeforeBytes: result.rssBeforeBytes,
      rssAfterBytes: result.rssAfterBytes,
      jsThread: result.jsThread,
    },
  };
}

function paceFrom(pace: unknown): ReleaseOptions['pace'] {
  if (pace === false) return false;
  if (pace === true) return { bytesPerSecond: DEFAULT_PACE_BYTES_PER_SECOND };
  if (typeof pace !== 'object' || pace === null) throw new SockprobeTypeError('options.autoRelease.pace', 'a boolean or { bytesPerSecond }', pace);
  const rate = (pace as { bytesPerSecond?: unknown }).bytesPerSecond ?? DEFAULT_PACE_BYTES_PER_SECOND;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 1 << 20) throw new SockprobeTypeError('options.autoRelease.pace.bytesPerSecond', 'a number of at least 1048576 (1 MiB/s)', rate, 'ERR_INVALID_ARG_VALUE');
  return { bytesPerSecond: rate };
}

const MiB = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * Decides, sample by sample, when a connection spike has ended and memory should be given
 * back — what Go's scavenger and the JDK's periodic trim do for their runtimes. Pure state;
 * the probe performs the release.
 */
export class AutoReleasePolicy {
  private peak = 0;
  private rssBeforeSpike: number | null = null;
  private heapBeforeSpike: number | null = null;
  private lastReleaseAt = -Infinity;
  private readonly options: Required<Omit<AutoReleaseOptions, 'pace'>>;
  /** What the probe passes to releaseToOS() when this policy says release. */
  readonly releaseOptions: ReleaseOptions;

  constructor(options: AutoReleaseOptions = {}) {
    const { pace = false, ...rest } = options;
    this.options = { minReleasableBytes: 16 * 1024 * 1024, dropFraction: 0.5, minIntervalMs: 30_000, maxEventLoopDelayMs: 100, ...rest };
    const paced = paceFrom(pace);
    this.releaseOptions = paced ? { pace: paced } : {};
  }

  consider(sample: Sample, previous: Sample | undefined): AutoReleaseDecision {
    const now = totalConnections(sample.connections);
    if (now >= this.peak) {
      if (this.peak === 0 || this.rssBeforeSpike === null) this.rssBeforeSpike = previous?.rss ?? sample.rss;
      if (this.peak === 0 || this.heapBeforeSpike === null) this.heapBeforeSpike = previous?.heapPhysical ?? sample.heapPhysical;
      this.peak = now;
      return { release: false, reason: 'connections at their peak' };
    }
    const fallen = this.peak - now;
    if (fallen < 50 || fallen < this.options.dropFraction * this.peak) return { release: false, reason: `connections ${now} have not fallen enough from their peak ${this.peak}` };
    const before = previous ? totalConnections(previous.connections) : now;
    if (Math.abs(before - now) > Math.max(10, 0.05 * this.peak)) return { release: false, reason: 'connections still falling' };
    if (sample.eventLoopDelayMaxMs > this.options.maxEventLoopDelayMs) return { release: false, reason: 'the event loop is busy' };
    if (sample.time - this.lastReleaseAt < this.options.minIntervalMs) return { release: false, reason: 'released recently' };
    const aboveSpike = this.rssBeforeSpike === null ? 0 : Math.max(0, sample.rss - this.rssBeforeSpike);
    const heapGrown = this.heapBeforeSpike === null ? 0 : Math.max(0, sample.heapPhysical - this.heapBeforeSpike);
    // Resident figures only, and never more than RSS gained since before the spike. Without an
    // allocator free count (mimalloc), RSS above the pre-spike level is all there is to go by.
    const releasable = sample.nativeFree === null ? aboveSpike : Math.min(aboveSpike, sample.nativeFree + heapGrown);
    if (releasable < this.options.minReleasableBytes) return { release: false, reason: `only ${MiB(releasable)} looks releasable` };
    const parts = sample.nativeFree === null ? 'RSS above its pre-spike level (the allocator counts no free bytes)' : `resident free native ${MiB(sample.nativeFree)} + V8 heap grown ${MiB(heapGrown)}, at most RSS above its pre-spike level ${MiB(aboveSpike)}`;
    return { release: true, expectedBytes: releasable, reason: `connections fell from ${this.peak} to ${now}; ${MiB(releasable)} looks releasable (${parts})` };
  }

  /** Called after the probe released: the next spike starts from here. */
  released(sample: Sample, rssAfter: number): void {
    this.lastReleaseAt = sample.time;
    this.peak = totalConnections(sample.connections);
    this.rssBeforeSpike = rssAfter;
    this.heapBeforeSpike = null;
  }
}
