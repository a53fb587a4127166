import { totalConnections, type Sample } from './sample';

export interface AutoReleaseOptions {
  /** Release once at least this much looks releasable (allocator free bytes, or RSS above the pre-spike level). Default 16 MiB. */
  minReleasableBytes?: number;
  /** Connections must have fallen by this share of the peak, and by at least 50. Default 0.5. */
  dropFraction?: number;
  /** At most one release per this many ms. Default 30 000. */
  minIntervalMs?: number;
  /** Skip moments whose event-loop delay exceeded this (the process is busy). Default 100 ms. */
  maxEventLoopDelayMs?: number;
}

export type AutoReleaseDecision = { release: true; reason: string } | { release: false; reason: string };

/**
 * Decides, sample by sample, when a connection spike has ended and memory should be given
 * back — what Go's scavenger and the JDK's periodic trim do for their runtimes. Pure state;
 * the probe performs the release.
 */
export class AutoReleasePolicy {
  private peak = 0;
  private rssBeforeSpike: number | null = null;
  private lastReleaseAt = -Infinity;
  private readonly options: Required<AutoReleaseOptions>;

  constructor(options: AutoReleaseOptions = {}) {
    this.options = { minReleasableBytes: 16 * 1024 * 1024, dropFraction: 0.5, minIntervalMs: 30_000, maxEventLoopDelayMs: 100, ...options };
  }

  consider(sample: Sample, previous: Sample | undefined): AutoReleaseDecision {
    const now = totalConnections(sample.connections);
    if (now >= this.peak) {
      if (this.peak === 0 || this.rssBeforeSpike === null) this.rssBeforeSpike = previous?.rss ?? sample.rss;
      this.peak = now;
      return { release: false, reason: 'connections at their peak' };
    }
    const fallen = this.peak - now;
    if (fallen < 50 || fallen < this.options.dropFraction * this.peak) return { release: false, reason: `connections ${now} have not fallen enough from their peak ${this.peak}` };
    const before = previous ? totalConnections(previous.connections) : now;
    if (Math.abs(before - now) > Math.max(10, 0.05 * this.peak)) return { release: false, reason: 'connections still falling' };
    if (sample.eventLoopDelayMaxMs > this.options.maxEventLoopDelayMs) return { release: false, reason: 'the event loop is busy' };
    if (sample.time - this.lastReleaseAt < this.options.minIntervalMs) return { release: false, reason: 'released recently' };
    const releasable = Math.max(sample.nativeFree ?? 0, this.rssBeforeSpike === null ? 0 : sample.rss - this.rssBeforeSpike);
    if (releasable < this.options.minReleasableBytes) return { release: false, reason: `only ${releasable} bytes look releasable` };
    return { release: true, reason: `connections fell from ${this.peak} to ${now}; ${releasable} bytes look releasable` };
  }

  /** Called after the probe released: the next spike starts from here. */
  released(sample: Sample, rssAfter: number): void {
    this.lastReleaseAt = sample.time;
    this.peak = totalConnections(sample.connections);
    this.rssBeforeSpike = rssAfter;
  }
}
