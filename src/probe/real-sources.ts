import { allocator } from '../memory/detect';
import { releaseToOS } from '../memory/release';
import { allocatorStats } from '../memory/stats';
import type { ProbeSources } from './sources';

/** The probe's sources in a real process: sockprobe's own calls. */
export function realSources(): ProbeSources {
  const allocatorName = allocator().name;
  return {
    memory() {
      const usage = process.memoryUsage();
      return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers };
    },
    allocator() {
      const stats = allocatorStats();
      return { allocated: stats.allocatedBytes, free: stats.freeBytes };
    },
    opensslLive: () => null,
    connections: () => null,
    sockets: () => null,
    release: () => releaseToOS(),
    allocatorName: () => allocatorName,
  };
}
