import * as v8 from 'node:v8';
import { SockprobeError } from '../errors';
import { runtimeLimits } from '../runtime';
import { allocator, type AllocatorName } from './detect';
import { procStatus } from './proc';
import { allocatorStats } from './stats';

export interface BreakdownPart {
  bytes: number | null;
  /** Where the figure comes from. */
  source: string;
}

/** RSS split by who holds it. Parts are exclusive; `other` is what is left of RSS. */
export interface MemoryBreakdown {
  allocator: AllocatorName;
  rss: BreakdownPart;
  /** V8's heap pages resident in RAM (mmapped by V8, not malloc). */
  jsHeap: BreakdownPart;
  /** ArrayBuffers and external strings V8 knows of (malloc'd: part of native in use). */
  external: BreakdownPart;
  /** Native memory in use other than `external`: OpenSSL, libuv, V8 and Node's own mallocs. */
  nativeInUse: BreakdownPart;
  /** Free but retained by the allocator: what releaseToOS() can give back. */
  nativeFree: BreakdownPart;
  /** File-backed resident pages: the node binary and shared libraries. */
  codeAndLibraries: BreakdownPart;
  /** The rest of RSS: thread stacks, V8 code and other mappings, allocator metadata. */
  other: BreakdownPart;
}

const part = (bytes: number | null, source: string): BreakdownPart => ({ bytes, source });

/** memoryBreakdown(): RSS split into JS heap, external, native in use, native free, code, other. */
export function memoryBreakdown(): MemoryBreakdown {
  const limit = runtimeLimits()?.memoryBreakdown;
  if (limit) throw new SockprobeError('ERR_UNSUPPORTED', `memoryBreakdown() is not available: ${limit}`);
  const status = procStatus();
  const heap = v8.getHeapStatistics();
  const usage = process.memoryUsage();
  const stats = allocatorStats();
  const name = allocator().name;
  // Allocators count what they hold, not what is resident: glibc keeps trimmed pages in its
  // free lists and untouched parts of big blocks count as in use. Each native part is
  // therefore capped by the anonymous RSS the parts before it leave unexplained.
  let unexplained = Math.max(0, status.rssAnonBytes - heap.total_physical_size - usage.external);
  const capped = (bytes: number | null) => {
    if (bytes === null) return null;
    const resident = Math.min(Math.max(0, bytes), unexplained);
    unexplained -= resident;
    return resident;
  };
  const nativeInUse = capped(stats.allocatedBytes === null ? null : stats.allocatedBytes - usage.external);
  const nativeFree = capped(stats.freeBytes);
  const known = heap.total_physical_size + usage.external + (nativeInUse ?? 0) + (nativeFree ?? 0) + status.rssFileBytes;
  const statsSource = name === 'glibc' ? 'mallinfo2()' : `${name} stats`;
  const cap = ', at most the anonymous RSS left unexplained';
  // Thread caches count free, but a release returns them only from threads that flushed theirs.
  const caches = stats.threadCacheBytes === null ? '' : ` (thread caches ${(stats.threadCacheBytes / 1048576).toFixed(1)} MiB of it, which a release keeps)`;
  return {
    allocator: name,
    rss: part(status.rssBytes, '/proc/self/status VmRSS'),
    jsHeap: part(heap.total_physical_size, 'v8.getHeapStatistics().total_physical_size'),
    external: part(usage.external, 'process.memoryUsage().external'),
    nativeInUse: part(nativeInUse, nativeInUse === null ? `${name} keeps no allocated-bytes figure` : `${statsSource} allocated − external${cap}`),
    nativeFree: part(nativeFree, nativeFree === null ? `${name} keeps no free-bytes figure` : `${statsSource} free${caches}${cap}`),
    codeAndLibraries: part(status.rssFileBytes, '/proc/self/status RssFile'),
    other: part(Math.max(0, status.rssBytes - known), 'VmRSS − the parts above'),
  };
}
