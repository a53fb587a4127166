import type { NativeReleaseOutcome, ReleaseKind } from '../binding/malloc';
import { native } from '../native';
import type { JsThreadMeter } from './release-js-thread';

/** tcmalloc releases this many bytes of free spans per slice: a few ms of page-heap lock each. */
export const TCMALLOC_SLICE_BYTES = 4 * 1024 * 1024;

export const RELEASE_METHODS: Record<ReleaseKind, string> = {
  glibc: 'malloc_trim(0)',
  jemalloc: 'thread.tcache.flush on the JS and threadpool threads, then mallctl("arena.<i>.purge") one arena per slice',
  tcmalloc: `MarkThreadIdle() on the JS and threadpool threads, then MallocExtension_ReleaseToSystem(${TCMALLOC_SLICE_BYTES / 1048576} MiB) per slice`,
  mimalloc: 'mi_collect(true) on the threadpool threads, then on the JS thread',
};

/** How long threadpool work items wait for each other to land on different pool threads. */
const THREADPOOL_MEET_MS = 20;

/** The size of libuv's threadpool: UV_THREADPOOL_SIZE as libuv reads it (default 4, at most 1024). */
export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const given = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return Number.isFinite(given) && given > 0 ? Math.min(given, 1024) : 4;
}

export interface SlicedRelease {
  /** Distinct threadpool threads whose allocator cache was emptied first (0 for glibc). */
  threadpoolThreads: number;
  flag: number;
  slices: number;
  durationNs: number;
  threadCpuNs: number;
}

/** At most this many slices (tcmalloc: 4 MiB × 65536 = 256 GiB), so a release always ends. */
const MAX_SLICES = 65536;

/**
 * Gives free memory back in slices, yielding to the event loop between them, so no slice
 * holds an allocator lock the JS thread's mallocs need for long: jemalloc one arena at a
 * time, tcmalloc a bounded number of bytes at a time. glibc has no public bounded or
 * per-arena trim, so malloc_trim(0) is one slice; mimalloc's mi_collect is one slice on the
 * calling thread. First the JS thread's own allocator cache goes back to the shared lists.
 */
export async function releaseInSlices(kind: ReleaseKind, onThreadpool: boolean, meter: JsThreadMeter): Promise<SlicedRelease> {
  const total: SlicedRelease = { threadpoolThreads: 0, flag: -1, slices: 0, durationNs: 0, threadCpuNs: 0 };
  if (kind !== 'glibc') {
    // Pool threads cache what they freed during the spike (TLS work, stats reads, compression):
    // only a call on each of them hands it back.
    const items = meter.run(() => native().releaseThreadpoolCaches(kind, threadpoolSize(), THREADPOOL_MEET_MS));
    const reached = await Promise.all(items);
    total.threadpoolThreads = new Set(reached.filter((item) => item.released).map((item) => item.threadId)).size;
  }
  if (kind === 'jemalloc' || kind === 'tcmalloc') meter.run(() => native().releaseThreadCache(kind));
  for (let index = 0; index < MAX_SLICES; index++) {
    const outcome: NativeReleaseOutcome = onThreadpool
      ? await native().releaseSlice(kind, index, TCMALLOC_SLICE_BYTES, true)
      : meter.run(() => native().releaseSlice(kind, index, TCMALLOC_SLICE_BYTES, false));
    total.slices++;
    total.durationNs += outcome.durationNs;
    total.threadCpuNs += outcome.threadCpuNs;
    if (kind === 'glibc') total.flag = outcome.flag;
    if (outcome.done) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return total;
}
