import type { NativeReleaseOutcome, ReleaseKind } from '../binding/malloc';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../native';
import { rssBytes } from './proc';
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

/** A paced release: at most this many bytes back per second, Go-scavenger-like. */
export interface ReleasePace {
  bytesPerSecond: number;
}

export interface SlicedRelease {
  /** Time spent waiting between slices to keep to the pace (0 unpaced). */
  pacedWaitMs: number;
  /** Distinct threadpool threads whose allocator cache was emptied first (0 for glibc). */
  threadpoolThreads: number;
  /** Why fewer than the pool's threads were reached; null when all were. */
  threadpoolNote: string | null;
  flag: number;
  slices: number;
  durationNs: number;
  threadCpuNs: number;
}

/** glibc keeps no per-thread cache that a call on that thread could hand back beyond its tcache,
 *  which it empties only when the thread exits; its arenas, the pool threads' included, are all
 *  trimmed by malloc_trim(0). */
export const GLIBC_THREADPOOL_NOTE =
  "glibc has no call that empties a thread's tcache (it empties when the thread exits): the " +
  "threadpool threads' arenas are trimmed by malloc_trim(0) like every other, and only their " +
  'tcaches stay (at most 7 free chunks per size class up to 1032 B, per thread)';

/** At most this many slices (tcmalloc: 4 MiB × 65536 = 256 GiB), so a release always ends. */
const MAX_SLICES = 65536;

/**
 * Gives free memory back in slices, yielding to the event loop between them, so no slice
 * holds an allocator lock the JS thread's mallocs need for long: jemalloc one arena at a
 * time, tcmalloc a bounded number of bytes at a time. glibc has no public bounded or
 * per-arena trim, so malloc_trim(0) is one slice; mimalloc's mi_collect is one slice on the
 * calling thread. First the threadpool threads' and the JS thread's own allocator caches go
 * back to the shared lists. With `pace`, each slice is followed by a wait until what it
 * returned fits the byte budget.
 */
export async function releaseInSlices(kind: ReleaseKind, onThreadpool: boolean, meter: JsThreadMeter, pace: ReleasePace | null = null): Promise<SlicedRelease> {
  const total: SlicedRelease = { pacedWaitMs: 0, threadpoolThreads: 0, threadpoolNote: null, flag: -1, slices: 0, durationNs: 0, threadCpuNs: 0 };
  // Paced, a tcmalloc slice is at most a tenth of a second's budget: slices stay short and
  // the waits between them even.
  const sliceBytes = pace ? Math.max(1 << 20, Math.min(TCMALLOC_SLICE_BYTES, Math.floor(pace.bytesPerSecond / 10))) : TCMALLOC_SLICE_BYTES;
  if (kind !== 'glibc') {
    // Pool threads cache what they freed during the spike (TLS work, stats reads, compression):
    // only a call on each of them hands it back.
    const items = meter.run(() => native().releaseThreadpoolCaches(kind, threadpoolSize(), THREADPOOL_MEET_MS));
    const reached = await Promise.all(items);
    total.threadpoolThreads = new Set(reached.filter((item) => item.released).map((item) => item.threadId)).size;
    const size = threadpoolSize();
    if (total.threadpoolThreads < size)
      total.threadpoolNote =
        `${total.threadpoolThreads} of the ${size} threadpool threads handed their cache back: the ` +
        `others stayed busy past the ${THREADPOOL_MEET_MS} ms meeting time, their caches stay until a ` +
        `later release`;
  } else {
    total.threadpoolNote = GLIBC_THREADPOOL_NOTE;
  }
  if (kind === 'jemalloc' || kind === 'tcmalloc') meter.run(() => native().releaseThreadCache(kind));
  for (let index = 0; index < MAX_SLICES; index++) {
    const sliceStart = performance.now();
    const rssBefore = pace ? rssBytes() : 0;
    const outcome: NativeReleaseOutcome = onThreadpool
      ? await native().releaseSlice(kind, index, sliceBytes, true)
      : meter.run(() => native().releaseSlice(kind, index, sliceBytes, false));
    total.slices++;
    total.durationNs += outcome.durationNs;
    total.threadCpuNs += outcome.threadCpuNs;
    if (kind === 'glibc') total.flag = outcome.flag;
    if (outcome.done) break;
    // Paced: what this slice returned (RSS, from /proc) sets how long until the next one.
    const dueMs = pace ? (Math.max(0, rssBefore - rssBytes()) / pace.bytesPerSecond) * 1000 - (performance.now() - sliceStart) : 0;
    if (dueMs >= 1) {
      total.pacedWaitMs += dueMs;
      await sleep(dueMs, undefined, { ref: false });
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return total;
}
