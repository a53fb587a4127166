import * as v8 from 'node:v8';
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
  const status = procStatus();
  const heap = v8.getHeapStatistics();
  const usage = process.memoryUsage();
  const stats = allocatorStats();
  const name = allocator().name;
  const nativeInUse = stats.allocatedBytes === null ? null : Math.max(0, stats.allocatedBytes - usage.external);
  const known = heap.total_physical_size + usage.external + (nativeInUse ?? 0) + (stats.freeBytes ?? 0) + status.rssFileBytes;
  const statsSource = name === 'glibc' ? 'mallinfo2()' : `${name} stats`;
  return {
    allocator: name,
    rss: part(status.rssBytes, '/proc/self/status VmRSS'),
    jsHeap: part(heap.total_physical_size, 'v8.getHeapStatistics().total_physical_size'),
    external: part(usage.external, 'process.memoryUsage().external'),
    nativeInUse: part(nativeInUse, nativeInUse === null ? `${name} keeps no allocated-bytes figure` : `${statsSource} allocated − external`),
    nativeFree: part(stats.freeBytes, stats.freeBytes === null ? `${name} keeps no free-bytes figure` : `${statsSource} free`),
    codeAndLibraries: part(status.rssFileBytes, '/proc/self/status RssFile'),
    // glibc counts trimmed (already returned) pages as free, so the known parts can exceed RSS.
    other: part(Math.max(0, status.rssBytes - known), 'VmRSS − the parts above'),
  };
}
