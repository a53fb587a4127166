import { allocator } from '../memory/detect';
import { releaseToOS } from '../memory/release';
import { allocatorStatsAsync } from '../memory/stats';
import { socketSnapshot } from '../net/snapshot';
import { trackConnections } from '../net/tracking';
import { netCapabilities } from '../net';
import { openssl, opensslTrackingSupportAsync } from '../openssl/tracking';
import { summariseSnapshot } from './socket-summary';
import type { ProbeSources } from './sources';

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
      return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers };
    },
    // On the threadpool: glibc's mallinfo2 can hold the JS thread for milliseconds.
    async allocator() {
      const stats = await allocatorStatsAsync();
      return { allocated: stats.allocatedBytes, free: stats.freeBytes };
    },
    // Only while tracking is on (the probe's opensslTracking option, or the user's own start()).
    opensslLive: () => {
      if (!opensslSupported) return null;
      const stats = openssl.stats();
      return stats.tracking ? stats.liveBytes : null;
    },
    opensslSupport: () => opensslSupport,
    // Returns whether this call changed tracking, so the probe stops only what it started.
    trackOpenssl(on) {
      if (!opensslSupported || openssl.stats().tracking === on) return false;
      if (on) openssl.start();
      else openssl.stop();
      return true;
    },
    connections: () => (tracker ? tracker.counts().open : null),
    sockets: (idleThresholdMs) => (snapshots ? socketSnapshot().then((snapshot) => summariseSnapshot(snapshot, idleThresholdMs)) : null),
    release: () => releaseToOS(),
    allocatorName: () => allocatorName,
  };
}
