/** What one start of the service under one configuration measured. Bytes and ms unless named otherwise. */
export interface RunResult {
  configuration: string;
  /** Round (1-based): configurations ran interleaved, one of each per round. */
  round: number;
  /** Which allocator the service's own probe saw serving malloc (its report), or null without a report. */
  servedBy: string | null;
  load: {
    /** Operations per second as the load reported them (connections/s for the built-in spike). */
    throughput: number | null;
    throughputUnit: string | null;
    latencyP50Ms: number | null;
    latencyP99Ms: number | null;
    wallMs: number;
    /** Connections the built-in spike held at once (null for a load command: unknown). */
    connections: number | null;
    /** Where the throughput and latency came from: `built-in spike`, `autocannon`, `k6`, `sockprobe-load line`, or `wall time only`. */
    source: string;
  };
  rss: {
    /** /proc/PID/statm as the load began. */
    beforeLoad: number;
    /** /proc/PID/status VmHWM before the release. */
    peak: number;
    /** /proc/PID/statm as the load ended. */
    afterLoad: number;
    /** /proc/PID/statm after the idle time, before any release sockprobe asked for (autoRelease may have run). */
    settled: number;
    /** /proc/PID/statm after the service ran releaseToOS() on request (its report), or null without a report. */
    afterRelease: number | null;
  };
  /** The longest event-loop stall of the explicit releaseToOS() (its JS-thread meter). */
  releaseStallMs: number | null;
  /** The longest stall of autoRelease's releases during the run (null: none ran). */
  autoReleaseStallMs: number | null;
  autoReleases: number;
  /** 99th percentile of the service's per-interval longest event-loop delay during the load (its probe's samples). */
  loopDelayP99Ms: number | null;
  /** The allocator's own counts before the release (the probe's last sample). */
  allocatorInUse: number | null;
  allocatorFree: number | null;
  /** utime + stime of the measured process from /proc/PID/stat, start to the end of the idle. */
  cpuMs: number;
  /** RSS over time from /proc/PID/statm: [ms since the service started, bytes]. */
  series: Array<[number, number]>;
  /** ms since start of: load start, load end, release request. */
  marks: { loadStart: number; loadEnd: number; release: number };
}
