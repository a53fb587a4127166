import { SockprobeTypeError } from '../errors';
import type { JsThreadCost, ReleaseOptions, ReleaseResult } from '../memory/release';
import { totalConnections, type Sample } from './sample';
import { mib } from '../format/bytes';
import { paceOption, type PaceOption } from '../options/pace';

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
  pace?: PaceOption;
  /** Also release when the working set nears a memory limit, before the kernel reclaims or OOM-kills —
   *  what GOMEMLIMIT does for Go's scavenger. `'cgroup'`: the memory cgroup's limit, measured against the
   *  group's working set (usage − inactive file); a number of bytes: that limit, measured against the
   *  group's working set in a memory cgroup, else against RSS. Paced (64 MiB/s) unless `pace` says otherwise.
   *  Such a release starts at once: from 10 points below the share the probe watches the loop (a 1 ms timer),
   *  and the release's loop-delay baseline is the last 200 ms it watched. */
  memoryLimit?: 'cgroup' | number;
  /** The share of the memory limit at which a release is due. Default 0.9. */
  memoryLimitShare?: number;
}

/** Limit-driven releases are at most this often (or minIntervalMs, if lower): near the limit, 30 s is long.
 *  After one that gave back less than minReleasableBytes, the wait doubles, up to minIntervalMs. */
export const MEMORY_LIMIT_INTERVAL_MS = 5000;

/** What a limit-driven release saw: the limit, where it came from, and the working set held against it. */
export interface MemoryLimitTrigger {
  limitBytes: number;
  /** `memory.limit_in_bytes`, `memory.max`… for 'cgroup'; `autoRelease.memoryLimit` for a number. */
  limitSource: string;
  /** The figure held against the limit, and what it is (`working set` of the cgroup, or `RSS`). */
  measuredBytes: number;
  measure: 'working set' | 'RSS';
  share: number;
  threshold: number;
}

export { DEFAULT_PACE_BYTES_PER_SECOND } from '../options/pace';

export type AutoReleaseDecision =
  | { release: true; reason: string; expectedBytes: number; trigger: 'spike-end' | 'memory-limit'; memoryLimit?: MemoryLimitTrigger }
  | { release: false; reason: string };

/** What one autoRelease did: when, why, what came back and what each step cost the JS thread. */
export interface AutoReleaseRecord {
  /** When the release started, ms since the epoch. */
  time: number;
  reason: string;
  /** Why it ran: a connection spike ended, or the working set neared `memoryLimit` (older records: absent, a spike). */
  trigger?: 'spike-end' | 'memory-limit';
  /** For a `memory-limit` release: the limit and the working set that called for it. */
  memoryLimit?: MemoryLimitTrigger;
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
export function releaseRecord(
  time: number,
  decision: { reason: string; expectedBytes: number; trigger?: AutoReleaseRecord['trigger']; memoryLimit?: MemoryLimitTrigger },
  result: ReleaseResult,
): AutoReleaseRecord {
  const gc = result.gc ? { durationMs: result.gc.durationMs, releasedBytes: result.gc.releasedBytes } : null;
  return {
    time,
    reason: decision.reason,
    ...(decision.trigger ? { trigger: decision.trigger } : {}),
    ...(decision.memoryLimit ? { memoryLimit: decision.memoryLimit } : {}),
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
  private limitIntervalMs = MEMORY_LIMIT_INTERVAL_MS;
  private readonly options: Required<Omit<AutoReleaseOptions, 'pace' | 'memoryLimit' | 'memoryLimitShare'>>;
  private readonly memoryLimit: { limit: 'cgroup' | number; share: number } | null;
  /** What the probe passes to releaseToOS() when this policy says release. */
  readonly releaseOptions: ReleaseOptions;

  constructor(options: AutoReleaseOptions = {}) {
    const { pace, memoryLimit, memoryLimitShare, ...rest } = options;
    this.options = { minReleasableBytes: 16 * 1024 * 1024, dropFraction: 0.5, minIntervalMs: 30_000, maxEventLoopDelayMs: 100, ...rest };
    this.memoryLimit = memoryLimitFrom(memoryLimit, memoryLimitShare);
    // A limit-aware release is paced unless told otherwise: near the limit, no long stall on top.
    const paced = paceOption('options.autoRelease.pace', pace, this.memoryLimit !== null);
    this.releaseOptions = paced ? { pace: paced } : {};
  }

  consider(sample: Sample, previous: Sample | undefined): AutoReleaseDecision {
    const spike = this.considerSpike(sample, previous);
    if (spike.release || !this.memoryLimit) return spike;
    const limit = considerMemoryLimit(sample, this.memoryLimit, {
      minReleasableBytes: this.options.minReleasableBytes,
      maxEventLoopDelayMs: this.options.maxEventLoopDelayMs,
      sinceReleaseMs: sample.time - this.lastReleaseAt,
      intervalMs: Math.min(this.limitIntervalMs, this.options.minIntervalMs),
    });
    // The limit's word when it has one to say (near the limit, or why no limit can be read); else the spike's.
    return limit ?? spike;
  }

  private considerSpike(sample: Sample, previous: Sample | undefined): AutoReleaseDecision {
    const now = totalConnections(sample.connections);
    if (now >= this.peak) {
      if (this.peak === 0 || this.rssBeforeSpike === null) this.rssBeforeSpike = previous?.rss ?? sample.rss;
      if (this.peak === 0 || this.heapBeforeSpike === null) this.heapBeforeSpike = previous?.heapPhysical ?? sample.heapPhysical;
      this.peak = now;
      return { release: false, reason: 'connections at their peak' };
    }
    const fallen = this.peak - now;
    if (fallen < 50 || fallen < this.options.dropFraction * this.peak)
      return { release: false, reason: `connections ${now} have not fallen enough from their peak ${this.peak}` };
    const before = previous ? totalConnections(previous.connections) : now;
    if (Math.abs(before - now) > Math.max(10, 0.05 * this.peak)) return { release: false, reason: 'connections still falling' };
    if (sample.eventLoopDelayMaxMs > this.options.maxEventLoopDelayMs) return { release: false, reason: 'the event loop is busy' };
    if (sample.time - this.lastReleaseAt < this.options.minIntervalMs) return { release: false, reason: 'released recently' };
    const aboveSpike = this.rssBeforeSpike === null ? 0 : Math.max(0, sample.rss - this.rssBeforeSpike);
    const heapGrown = this.heapBeforeSpike === null ? 0 : Math.max(0, sample.heapPhysical - this.heapBeforeSpike);
    // Resident figures only, and never more than RSS gained since before the spike. Without an
    // allocator free count (mimalloc), RSS above the pre-spike level is all there is to go by.
    const releasable = sample.nativeFree === null ? aboveSpike : Math.min(aboveSpike, sample.nativeFree + heapGrown);
    if (releasable < this.options.minReleasableBytes) return { release: false, reason: `only ${mib(releasable)} looks releasable` };
    const parts =
      sample.nativeFree === null
        ? 'RSS above its pre-spike level (the allocator counts no free bytes)'
        : `resident free native ${mib(sample.nativeFree)} + V8 heap grown ${mib(heapGrown)}, at most RSS above its pre-spike level ${mib(aboveSpike)}`;
    return {
      release: true,
      trigger: 'spike-end',
      expectedBytes: releasable,
      reason: `connections fell from ${this.peak} to ${now}; ${mib(releasable)} looks releasable (${parts})`,
    };
  }

  /** Whether this policy releases near a memory limit. */
  get watchesMemoryLimit(): boolean {
    return this.memoryLimit !== null;
  }

  /** Whether a limit-driven release may be due soon: the working set is within LOOP_WATCH_MARGIN of the
   *  release share (the probe then keeps the loop's recent gaps for the release's baseline). */
  nearMemoryLimit(sample: Sample): boolean {
    if (!this.memoryLimit) return false;
    const held = heldAgainstLimit(sample, this.memoryLimit);
    return !('reason' in held) && held.share >= this.memoryLimit.share - LOOP_WATCH_MARGIN;
  }

  /** Called after the probe released: the next spike starts from here. */
  released(sample: Sample, rssAfter: number): void {
    // Near the limit, a release that gave back less than the minimum was chasing memory in use:
    // the next waits twice as long (up to minIntervalMs), so a service at its limit is not GC'd every 5 s.
    const given = sample.rss - rssAfter;
    if (this.memoryLimit)
      this.limitIntervalMs =
        given < this.options.minReleasableBytes ? Math.min(this.options.minIntervalMs, this.limitIntervalMs * 2) : MEMORY_LIMIT_INTERVAL_MS;
    this.lastReleaseAt = sample.time;
    this.peak = totalConnections(sample.connections);
    this.rssBeforeSpike = rssAfter;
    this.heapBeforeSpike = null;
  }
}

function memoryLimitFrom(limit: unknown, share: unknown): { limit: 'cgroup' | number; share: number } | null {
  if (share !== undefined && (typeof share !== 'number' || !(share > 0 && share <= 1)))
    throw new SockprobeTypeError('options.autoRelease.memoryLimitShare', 'a share of the limit above 0 and at most 1', share, 'ERR_INVALID_ARG_VALUE');
  if (limit === undefined) return null;
  if (limit !== 'cgroup' && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 << 20)) {
    throw new SockprobeTypeError('options.autoRelease.memoryLimit', "'cgroup' or a byte count of at least 1048576 (1 MiB)", limit, 'ERR_INVALID_ARG_VALUE');
  }
  return { limit, share: share ?? 0.9 };
}

const percent = (share: number) => `${(share * 100).toFixed(0)}%`;

/** The limit and the figure held against it: the cgroup's working set where there is one, else RSS. */
function heldAgainstLimit(
  sample: Sample,
  config: { limit: 'cgroup' | number },
): { limitBytes: number; limitSource: string; measuredBytes: number; measure: 'working set' | 'RSS'; share: number } | { reason: string } {
  const container = sample.container;
  let limitBytes: number;
  let limitSource: string;
  if (config.limit === 'cgroup') {
    if (!container) return { reason: 'memoryLimit "cgroup": this process is in no readable memory cgroup' };
    if (container.limitBytes === null) return { reason: 'memoryLimit "cgroup": the memory cgroup sets no limit' };
    limitBytes = container.limitBytes;
    limitSource = container.limitSource ?? 'the memory cgroup';
  } else {
    limitBytes = config.limit;
    limitSource = 'autoRelease.memoryLimit';
  }
  const inGroup = container != null && container.workingSetBytes !== null;
  const measuredBytes = inGroup ? container.workingSetBytes! : sample.rss;
  return { limitBytes, limitSource, measuredBytes, measure: inGroup ? 'working set' : 'RSS', share: measuredBytes / limitBytes };
}

/** How far below the release share the probe starts watching the loop (LoopWatch), so a limit-driven release
 *  finds its loop-delay baseline ready and need not wait for one. */
export const LOOP_WATCH_MARGIN = 0.1;

/**
 * The limit-aware half of autoRelease, pure: null while the working set is below the release share
 * (nothing to say), else whether to release now and why. What looks releasable near the limit is
 * resident free native memory and V8 heap pages resident but unused (a heap-shrinking GC returns
 * part of them): both are memory the kernel would otherwise have to reclaim or kill for.
 */
export function considerMemoryLimit(
  sample: Sample,
  config: { limit: 'cgroup' | number; share: number },
  policy: { minReleasableBytes: number; maxEventLoopDelayMs: number; sinceReleaseMs: number; intervalMs: number },
): AutoReleaseDecision | null {
  const held = heldAgainstLimit(sample, config);
  if ('reason' in held) return { release: false, reason: held.reason };
  const { limitBytes, limitSource, measuredBytes, measure, share } = held;
  if (!(share >= config.share)) return null;
  const near =
    `${measure} ${mib(measuredBytes)} is ${percent(share)} of the ${mib(limitBytes)} limit ` +
    `(${limitSource}), past the ${percent(config.share)} release share`;
  if (sample.eventLoopDelayMaxMs > policy.maxEventLoopDelayMs) return { release: false, reason: `${near}; the event loop is busy` };
  if (policy.sinceReleaseMs < policy.intervalMs) return { release: false, reason: `${near}; released ${(policy.sinceReleaseMs / 1000).toFixed(1)} s ago` };
  const heapUnused = Math.max(0, sample.heapPhysical - sample.heapUsed);
  const releasable = (sample.nativeFree ?? 0) + heapUnused;
  const free = sample.nativeFree === null ? 'the allocator counts no free bytes' : `resident free native ${mib(sample.nativeFree)}`;
  const parts = `${free} + V8 heap resident but unused ${mib(heapUnused)}`;
  if (releasable < policy.minReleasableBytes)
    return { release: false, reason: `${near}; only ${mib(releasable)} looks releasable (${parts}): what holds it is in use` };
  return {
    release: true,
    trigger: 'memory-limit',
    expectedBytes: releasable,
    memoryLimit: { limitBytes, limitSource, measuredBytes, measure, share: Number(share.toFixed(4)), threshold: config.share },
    reason: `${near}: releasing before the kernel reclaims or OOM-kills; ${mib(releasable)} looks releasable (${parts})`,
  };
}
