import type { LoopWatch } from '../memory/loop-watch';
import type { ReleaseOptions, ReleaseResult } from '../memory/release';
import type { NativeHeapSession } from '../native-heap';
import type { NativeHeapProfile } from '../native-heap/profile';
import type { SessionHandle } from '../session-lease';
import type { MemoryEventRecord, MemoryEventsWatch } from '../container/events';
import type { ConnectionCounts, ContainerReading, SocketSummary } from './sample';

/** Where a probe reads each layer. The real sources wrap sockprobe's own calls; tests may pass fakes. */
export interface ProbeSources {
  /** `rssAnon` and `heapPhysical` default to `rss` and `heapTotal` where a source cannot read them. */
  memory(): { rss: number; rssAnon?: number; heapUsed: number; heapTotal: number; heapPhysical?: number; external: number; arrayBuffers: number };
  /** Anonymous RSS read off the JS thread (a /proc read costs ~0.1 ms there on a loaded machine); overrides memory().rssAnon. */
  rssAnon?(): Promise<number>;
  /** Allocator in-use and free bytes (raw counts); `releasable`: the part of `free` the allocator's release
   *  call returns (defaults to `free`); `unreleasable`: memory the allocator holds that the release keeps
   *  (caches, fragmentation, metadata; default 0). Nulls where the allocator keeps no such figure. */
  allocator(): Promise<{ allocated: number | null; free: number | null; releasable?: number | null; unreleasable?: number }>;
  /** OpenSSL live bytes while tracking is on (the probe's session, or any other user's); null otherwise. */
  opensslLive(): number | null;
  connections(): ConnectionCounts | null;
  /** A whole-process socket snapshot summarised; null where snapshots are unsupported. */
  sockets(idleThresholdMs: number): Promise<SocketSummary> | null;
  /** releaseToOS(); `recent`: the loop's last gaps, the release's loop-delay baseline (near a memory limit: no wait for one). */
  release(options?: ReleaseOptions, recent?: LoopWatch): Promise<ReleaseResult>;
  /** Whether OpenSSL tracking can work here (true), else why not; asked before trackOpenssl(true). */
  opensslSupport?(): Promise<true | string>;
  /** The probe's own reference to OpenSSL tracking (joining a running session, or starting one);
   *  only its stop() gives it back. Throws (coded) where tracking cannot start. */
  opensslSession?(): SessionHandle;
  allocatorName(): string;
  /** The memory cgroup's limit, usage and working set (and the read's time on the JS thread); null outside one. */
  container?(): Promise<ContainerReading | null>;
  /** Watches the memory cgroup's event counters (OOM kills, limit and high breaches); absent: not watched. */
  watchContainerEvents?(onEvent: (record: MemoryEventRecord) => void, options: { intervalMs: number }): MemoryEventsWatch;
  /** The native heap profiler (nativeHeap); absent where this build has none. */
  nativeHeap?: NativeHeapSource;
}

/** What a probe needs of the native heap profiler. */
export interface NativeHeapSource {
  /** true where it can run here, else why not (asked before start). */
  support(): Promise<true | string>;
  /** The probe's own reference to the session (joining one running at the same rate, or starting
   *  one); only its stop() gives it back. Throws ERR_SESSION_CONFLICT when one runs at another rate. */
  session(options: { sampleBytes: number }): NativeHeapSession;
  /** The running session's sampleBytes, null when none runs. */
  runningSampleBytes(): number | null;
  /** The live heap now, symbolized on the threadpool. */
  profile(options?: { maxSites?: number }): Promise<NativeHeapProfile>;
}
