import type { KindCounts } from '../net/tracking';

/** Open connections by kind and side, as connection tracking sees them. */
export type ConnectionCounts = KindCounts;

/** What a socket snapshot contributes to a sample (slow cadence: the last one is carried). */
export interface SocketSummary {
  /** TCP sockets of this process by state name (ESTABLISHED, CLOSE_WAIT, …). */
  byState: Record<string, number>;
  /** CLOSE_WAIT sockets per local port. */
  closeWaitByPort: Record<string, number>;
  /** Kernel memory of this process's TCP sockets (skmem rmem_alloc + wmem_queued + fwd_alloc + optmem). */
  kernelBytes: number;
  /** Established sockets idle (no data either way) longer than the probe's idle threshold. */
  idle: { count: number; kernelBytes: number; thresholdMs: number };
  fds: { open: number; limit: number };
  takenAt: number;
  durationMs: number;
  /** Of that, the time spent on the JS thread (queueing, counting, summarising): a stall the probe caused. */
  mainThreadMs: number;
}

/** What a sample keeps of the memory cgroup: the kill line and the working set measured against it. */
export interface ContainerReading {
  /** The limit the kernel kills on (null: none set). */
  limitBytes: number | null;
  usageBytes: number | null;
  /** usage − inactive file pages: what the kubelet evicts on. */
  workingSetBytes: number | null;
  /** Which file the limit came from (memory.max, memory.limit_in_bytes…). */
  limitSource: string | null;
  /** Time the read held the JS thread, ms (counted in the sample's probeMs). */
  readMs?: number;
  /** Processes of the group the kernel OOM-killed since the group was made (v2 memory.events oom_kill,
   *  v1 memory.oom_control oom_kill), as the probe's event watch last read it; absent when not watched. */
  oomKills?: number | null;
}

/** One sample of every layer. Bytes unless named otherwise; null where a layer cannot be read here. */
export interface Sample {
  /** ms since the epoch. */
  time: number;
  rss: number;
  /** Anonymous resident memory (/proc/self/status RssAnon): where V8's heap and every allocator live. */
  rssAnon: number;
  heapUsed: number;
  heapTotal: number;
  /** V8 heap pages resident in RAM (v8.getHeapStatistics().total_physical_size): what a heap-shrinking GC can give back is above what the heap uses. */
  heapPhysical: number;
  external: number;
  arrayBuffers: number;
  /** Bytes in use according to the allocator (may include allocated pages never touched, so not all resident). */
  nativeAllocated: number | null;
  /** Free native memory that is resident and that the allocator's release call targets, bounded by
   *  the anonymous RSS that V8's heap and native in-use leave unexplained (see residentFree()). */
  nativeFree: number | null;
  /** The allocator's own free count, raw (glibc `mallinfo2().fordblks`, jemalloc `resident − allocated − metadata`,
   *  tcmalloc page heap + caches): not resident memory — glibc's keeps pages a trim already returned and can exceed RSS. */
  allocatorFreeRaw: number | null;
  opensslLive: number | null;
  connections: ConnectionCounts | null;
  sockets: SocketSummary | null;
  /** The memory cgroup's figures at this sample (containerMemory()); absent or null outside a readable memory cgroup. */
  container?: ContainerReading | null;
  /** Longest event-loop delay seen since the previous sample, ms. */
  eventLoopDelayMaxMs: number;
  /** Time this sample itself held the JS thread, ms (the probe's own cost, snapshot included). */
  probeMs: number;
}

export const totalConnections = (c: ConnectionCounts | null, kind?: 'tls' | 'tcp'): number => {
  if (!c) return 0;
  const of = (k: 'tls' | 'tcp') => c[k].server + c[k].client;
  return kind ? of(kind) : of('tls') + of('tcp');
};

/**
 * Free native memory that is resident and releasable: the allocator's releasable count (glibc
 * `fordblks`, jemalloc dirty pages `resident − active − metadata`, tcmalloc's page-heap free bytes),
 * capped by the anonymous RSS that V8's resident heap, the allocator's in-use bytes and its resident
 * memory a release keeps (caches, slab fragmentation, metadata) leave unexplained — the kind of cap
 * memoryBreakdown() applies. Allocators count what they hold, not what is resident.
 */
export function residentFree(
  releasableRaw: number | null,
  figures: { rssAnon: number; heapPhysical: number; external: number; nativeAllocated: number | null; unreleasable?: number },
): number | null {
  if (releasableRaw === null) return null;
  const unexplained = figures.rssAnon - figures.heapPhysical - Math.max(figures.nativeAllocated ?? 0, figures.external) - (figures.unreleasable ?? 0);
  return Math.max(0, Math.min(releasableRaw, unexplained));
}

/** How `Sample.nativeFree` is bounded, named in reports and gauges. */
export const RESIDENT_FREE_METHOD =
  "min(allocator's releasable free bytes, RssAnon − V8 heap resident − native in use − what the release keeps: caches, fragmentation, metadata)";

/** Native bytes in use that are neither ArrayBuffers/external nor OpenSSL's. */
export const otherNative = (s: Sample): number | null => (s.nativeAllocated === null ? null : s.nativeAllocated - s.external - (s.opensslLive ?? 0));
