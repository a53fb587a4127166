import { performance } from 'node:perf_hooks';
import type { ReleaseKind } from '../binding/malloc';
import { SockprobeError, SockprobeTypeError } from '../errors';
import { native } from '../native';
import { allocator, type AllocatorName } from './detect';
import { fullGc } from './gc';
import { rssBytes } from './proc';
import { allocatorStats, type AllocatorStats } from './stats';

export interface ReleaseOptions {
  /** Run a full JS GC first so dead sockets and Buffers free their native memory. Default true. */
  gc?: boolean;
  /** Run the trim on the libuv threadpool (default) or on the calling thread. */
  onThreadpool?: boolean;
}

export interface ReleaseResult {
  allocator: AllocatorName;
  /** The call that released memory, e.g. `malloc_trim(0)`. */
  method: string;
  /** Wall time of the trim/purge itself. While it runs, glibc holds each arena's lock in turn:
   *  other threads' mallocs (the main thread's too) wait on it, so this is the stall it can cost. */
  durationMs: number;
  /** CPU time the trim used on the thread that ran it. */
  cpuMs: number;
  onThreadpool: boolean;
  /** malloc_trim's own answer (released something or not); null for other allocators. */
  allocatorSaysReleased: boolean | null;
  /** The GC that ran first, if any, and the RSS it gave back by itself. */
  gc: { durationMs: number; releasedBytes: number } | null;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** RSS before − after, measured from /proc: what really came back (GC plus trim). */
  releasedBytes: number;
  /** The part of releasedBytes measured across the trim alone. */
  trimReleasedBytes: number;
  before: AllocatorStats;
  after: AllocatorStats;
}

const METHODS: Record<ReleaseKind, string> = {
  glibc: 'malloc_trim(0)',
  jemalloc: 'mallctl("arena.4096.purge")',
  tcmalloc: 'MallocExtension_ReleaseFreeMemory()',
  mimalloc: 'mi_collect(true)',
};

function validate(options: unknown): Required<ReleaseOptions> {
  if (options === undefined) return { gc: true, onThreadpool: true };
  if (typeof options !== 'object' || options === null) throw new SockprobeTypeError('options', 'an object', options);
  const { gc = true, onThreadpool = true } = options as ReleaseOptions;
  if (typeof gc !== 'boolean') throw new SockprobeTypeError('options.gc', 'a boolean', gc);
  if (typeof onThreadpool !== 'boolean') throw new SockprobeTypeError('options.onThreadpool', 'a boolean', onThreadpool);
  return { gc, onThreadpool };
}

/**
 * Gives free-but-retained native memory back to the OS with whichever allocator serves
 * malloc, and reports what really came back (from /proc) and what it cost.
 */
export async function releaseToOS(options?: ReleaseOptions): Promise<ReleaseResult> {
  const { gc, onThreadpool } = validate(options);
  const { name } = allocator();
  if (name === 'unknown') throw new SockprobeError('ERR_UNSUPPORTED', 'releaseToOS(): the allocator serving malloc is not one sockprobe knows how to trim');
  const kind: ReleaseKind = name;
  const rssBeforeBytes = rssBytes();
  let gcStep: ReleaseResult['gc'] = null;
  if (gc) {
    const start = performance.now();
    fullGc();
    gcStep = { durationMs: performance.now() - start, releasedBytes: rssBeforeBytes - rssBytes() };
  }
  const before = allocatorStats();
  const rssBeforeTrim = rssBytes();
  const outcome = onThreadpool ? await native().release(kind, true) : native().release(kind, false);
  const rssAfterBytes = rssBytes();
  return {
    allocator: name,
    method: METHODS[kind],
    durationMs: outcome.durationNs / 1e6,
    cpuMs: outcome.threadCpuNs / 1e6,
    onThreadpool,
    allocatorSaysReleased: kind === 'glibc' ? outcome.flag === 1 : null,
    gc: gcStep,
    rssBeforeBytes,
    rssAfterBytes,
    releasedBytes: rssBeforeBytes - rssAfterBytes,
    trimReleasedBytes: rssBeforeTrim - rssAfterBytes,
    before,
    after: allocatorStats(),
  };
}
