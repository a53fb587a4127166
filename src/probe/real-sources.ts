import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { allocator } from '../memory/detect';
import { parseProcStatus } from '../memory/proc';
import { releaseWithLoopWatch } from '../memory/release';
import { allocatorStatsAsync, type AllocatorStats } from '../memory/stats';
import { socketSnapshot } from '../net/snapshot';
import { trackConnections } from '../net/tracking';
import { netCapabilities } from '../net';
import { openssl, opensslTrackingSupportAsync } from '../openssl/tracking';
import { nativeHeap } from '../native-heap';
import { containerHeadroom } from '../container/memory';
import { watchMemoryEvents } from '../container/events';
import { summariseSnapshot } from './socket-summary';
import type { ProbeSources } from './sources';

/**
 * The part of an allocator's free count its release call returns: glibc's trim walks every free
 * chunk; jemalloc's purge returns dirty pages (resident, not active, not metadata; the rest of
 * its free count is fragmentation inside slabs in use and thread caches, which sit in active pages
 * and which a purge returns only from threads that flushed theirs); tcmalloc's ReleaseFreeMemory empties the
 * page heap only (its central, transfer and thread caches stay).
 */
export function releasableRaw(stats: AllocatorStats): number | null {
  const raw = stats.raw;
  if (stats.allocator === 'jemalloc' && 'stats.active' in raw) return Math.max(0, raw['stats.resident'] - raw['stats.active'] - raw['stats.metadata']);
  if (stats.allocator === 'tcmalloc' && 'tcmalloc.pageheap_free_bytes' in raw) return raw['tcmalloc.pageheap_free_bytes'];
  return stats.freeBytes;
}

/** The probe's sources in a real process: sockprobe's own calls. */
export function realSources(): ProbeSources {
  const allocatorName = allocator().name;
  const net = netCapabilities();
  const snapshots = net.socketSnapshot === true;
  // Support cannot change within a process: asked once, on the threadpool (the first answer
  // scans the executable's symbol table), not on every sample. Unknown until it answers.
  let opensslSupported = false;
  const opensslSupport = opensslTrackingSupportAsync().then((support) => {
    opensslSupported = support === true;
    return support;
  });
  const tracker = net.connectionTracking === true ? trackConnections() : null;
  return {
    memory() {
      const usage = process.memoryUsage();
      const heapPhysical = v8.getHeapStatistics().total_physical_size;
      return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, heapPhysical, external: usage.external, arrayBuffers: usage.arrayBuffers };
    },
    // On the threadpool, beside the allocator's figures: RssAnon bounds what they call free.
    async rssAnon() {
      return parseProcStatus(await fs.promises.readFile('/proc/self/status', 'latin1')).rssAnonBytes;
    },
    // On the threadpool: glibc's mallinfo2 can hold the JS thread for milliseconds.
    async allocator() {
      const stats = await allocatorStatsAsync();
      const releasable = releasableRaw(stats);
      const kept = stats.freeBytes !== null && releasable !== null ? stats.freeBytes - releasable : 0;
      return { allocated: stats.allocatedBytes, free: stats.freeBytes, releasable, unreleasable: Math.max(0, kept) + (stats.metadataBytes ?? 0) };
    },
    // Only while tracking is on (the probe's opensslTracking option, or the user's own start()).
    opensslLive: () => {
      if (!opensslSupported) return null;
      const stats = openssl.stats();
      return stats.tracking ? stats.liveBytes : null;
    },
    opensslSupport: () => opensslSupport,
    opensslSession: () => openssl.session(),
    connections: () => (tracker ? tracker.counts().open : null),
    sockets: (idleThresholdMs) => (snapshots ? socketSnapshot().then((snapshot) => summariseSnapshot(snapshot, idleThresholdMs)) : null),
    release: (options, recent) => releaseWithLoopWatch(options, recent),
    allocatorName: () => allocatorName,
    // On the JS thread (three small reads, ~0.1 ms): fs.promises would pay four loop hops per file.
    // Its time is returned so the sample counts it in probeMs.
    async container() {
      const c = containerHeadroom();
      return c.version === null
        ? null
        : {
            limitBytes: c.limitBytes,
            usageBytes: c.usageBytes,
            workingSetBytes: c.workingSetBytes,
            limitSource: c.sources.limitBytes ?? null,
            readMs: c.readMs,
          };
    },
    watchContainerEvents: (onEvent, options) => watchMemoryEvents(onEvent, options),
    // Support is asked on the threadpool (the first check reads every loaded object's relocations).
    nativeHeap: {
      support: () => nativeHeap.supported(),
      session: ({ sampleBytes }) => nativeHeap.session({ sampleBytes }),
      runningSampleBytes: () => nativeHeap.runningSampleBytes(),
      profile: (options) => nativeHeap.profile(options),
    },
  };
}
