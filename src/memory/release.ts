import { performance } from 'node:perf_hooks';
import type { ReleaseKind } from '../binding/malloc';
import { SockprobeError, SockprobeTypeError } from '../errors';
import { native } from '../native';
import { allocator, type AllocatorName } from './detect';
import { fullGc, shrinkingGc } from './gc';
import { rssBytes } from './proc';
import { allocatorStats, allocatorStatsAsync, type AllocatorStats } from './stats';

export interface ReleaseOptions {
  /** Run a full JS GC first so dead sockets and Buffers free their native memory. Default true. */
  gc?: boolean;
  /** Also shrink V8's heap (a memory-reducing GC): after a spike most of what stays above
   *  baseline once native memory is trimmed is young-generation space V8 grew. Default true. */
  shrinkHeap?: boolean;
  /** Run the trim on the libuv threadpool or on the calling thread. Default: the threadpool,
   *  except mimalloc, whose mi_collect only collects the calling thread's heap. */
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
  /** The GC that ran first, if any: on the JS thread, so its duration is an event-loop stall;
   *  `shrunkHeap` says whether V8's heap was also shrunk; `releasedBytes` is the RSS it gave back by itself. */
  gc: { durationMs: number; shrunkHeap: boolean; releasedBytes: number } | null;
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

function validate(options: unknown): ReleaseOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new SockprobeTypeError('options', 'an object', options);
  const given = (options ?? {}) as ReleaseOptions;
  for (const key of ['gc', 'shrinkHeap', 'onThreadpool'] as const) {
    if (given[key] !== undefined && typeof given[key] !== 'boolean') throw new SockprobeTypeError(`options.${key}`, 'a boolean', given[key]);
  }
  return given;
}

/**
 * Gives free-but-retained native memory back to the OS with whichever allocator serves
 * malloc, and reports what really came back (from /proc) and what it cost.
 */
export async function releaseToOS(options?: ReleaseOptions): Promise<ReleaseResult> {
  const given = validate(options);
  const { name } = allocator();
  const { gc = true, shrinkHeap = true, onThreadpool = name !== 'mimalloc' } = given;
  if (name === 'unknown') throw new SockprobeError('ERR_UNSUPPORTED', 'releaseToOS(): the allocator serving malloc is not one sockprobe knows how to trim');
  const kind: ReleaseKind = name;
  const rssBeforeBytes = rssBytes();
  let gcStep: ReleaseResult['gc'] = null;
  if (gc || shrinkHeap) {
    const start = performance.now();
    const shrunkHeap = shrinkHeap ? shrinkingGc() : (fullGc(), false);
    gcStep = { durationMs: performance.now() - start, shrunkHeap, releasedBytes: rssBeforeBytes - rssBytes() };
  }
  // On the threadpool, the allocator's figures are read there too: mallinfo2 walks and locks
  // every arena, milliseconds after a spike, which the JS thread should not pay twice.
  const stats = () => (onThreadpool ? allocatorStatsAsync() : Promise.resolve(allocatorStats()));
  const before = await stats();
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
    after: await stats(),
  };
}
