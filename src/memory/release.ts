import { performance } from 'node:perf_hooks';
import type { ReleaseKind } from '../binding/malloc';
import { SockprobeError, SockprobeTypeError } from '../errors';
import { paceOption, type PaceOption } from '../options/pace';
import { allocator, type AllocatorName } from './detect';
import { rssBytes } from './proc';
import { runGcStep, type GcStepResult, type HeapShrink } from './release-gc';
import { JsThreadMeter, type JsThreadCost } from './release-js-thread';
import type { LoopWatch } from './loop-watch';
import { releasedFigures } from './release-figures';
import { RELEASE_METHODS, releaseInSlices, type ReleasePace } from './release-slices';
import { allocatorStats, allocatorStatsAsync, type AllocatorStats } from './stats';

export type { JsThreadCost, LoopDelayAdded } from './release-js-thread';
export type { ReleasePace } from './release-slices';

export interface ReleaseOptions {
  /** Run a JS GC first so dead sockets and Buffers free their native memory. Default true. */
  gc?: boolean;
  /** Also shrink V8's heap: after a spike most of what stays above baseline once native memory
   *  is trimmed is young-generation space V8 grew. `true` (default): an incremental
   *  memory-reducing GC (MemoryPressureNotification), awaited; `'blocking'`: the older
   *  LowMemoryNotification, a repeated full GC that holds the JS thread for tens of ms. */
  shrinkHeap?: HeapShrink;
  /** Run the trim on the libuv threadpool or on the calling thread. Default: the threadpool,
   *  except mimalloc, whose mi_collect only collects the calling thread's heap. */
  onThreadpool?: boolean;
  /** Pace the allocator's release like Go's scavenger: after each slice, wait until what it
   *  returned fits `bytesPerSecond`. Slices are per arena (jemalloc) or per ReleaseToSystem
   *  call of at most a tenth of a second's budget (tcmalloc); glibc's malloc_trim and
   *  mimalloc's mi_collect are one call each and cannot be paced. `true`: 64 MiB/s; `{ bytesPerSecond }`
   *  of at least 1 MiB/s (src/options/pace.ts, as autoRelease.pace). Default: unpaced. */
  pace?: PaceOption;
}

export interface ReleaseResult {
  allocator: AllocatorName;
  /** The calls that released memory, e.g. `malloc_trim(0)`. */
  method: string;
  /** Wall time of the trim/purge itself, summed over its slices. */
  durationMs: number;
  /** CPU time the trim used on the thread(s) that ran it. */
  cpuMs: number;
  /** How many slices the trim ran in (event-loop turns between them). */
  slices: number;
  /** The pace kept, and the time spent waiting between slices for it; null unpaced. */
  paced: { bytesPerSecond: number; waitedMs: number } | null;
  /** Distinct libuv threadpool threads whose allocator cache was handed back before the trim
   *  (tcmalloc, jemalloc, mimalloc; 0 for glibc: see threadpoolNote). */
  threadpoolThreads: number;
  /** Why threadpoolThreads is below the pool's size (glibc has no such call; threads busy past
   *  the meeting time); null when every pool thread handed its cache back. */
  threadpoolNote: string | null;
  onThreadpool: boolean;
  /** malloc_trim's own answer (released something or not); null for other allocators. */
  allocatorSaysReleased: boolean | null;
  /** The GC that ran first, if any (`durationMs`: its pauses on the JS thread; `wallMs`: until
   *  it finished); `releasedBytes` is the RSS it gave back by itself (never negative: see note). */
  gc: (GcStepResult & { releasedBytes: number }) | null;
  /** Wall time of the whole release, from the call to its result (GC, trim and stats reads). */
  wallMs: number;
  /** What the whole release cost the JS thread (GC, trim and stats reads included). */
  jsThread: JsThreadCost;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** RSS before − after, measured from /proc: what really came back (GC plus trim); 0, never
   *  negative, where RSS rose meanwhile (note says so, with how much). */
  releasedBytes: number;
  /** The part of releasedBytes measured across the trim alone (0 where RSS rose across it). */
  trimReleasedBytes: number;
  /** Why a released figure reads 0 although RSS moved (it rose while the release ran); null otherwise. */
  note: string | null;
  before: AllocatorStats;
  after: AllocatorStats;
}

function validate(options: unknown): ReleaseOptions & { pace: ReleasePace | false } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new SockprobeTypeError('options', 'an object', options);
  const given = (options ?? {}) as ReleaseOptions;
  for (const key of ['gc', 'onThreadpool'] as const) {
    if (given[key] !== undefined && typeof given[key] !== 'boolean') throw new SockprobeTypeError(`options.${key}`, 'a boolean', given[key]);
  }
  if (given.shrinkHeap !== undefined && typeof given.shrinkHeap !== 'boolean' && given.shrinkHeap !== 'blocking') {
    throw new SockprobeTypeError('options.shrinkHeap', "a boolean or 'blocking'", given.shrinkHeap);
  }
  return { ...given, pace: paceOption('options.pace', given.pace, false) };
}

/**
 * Gives free-but-retained native memory back to the OS with whichever allocator serves
 * malloc, and reports what really came back (from /proc) and what it cost the JS thread.
 */
export async function releaseToOS(options?: ReleaseOptions): Promise<ReleaseResult> {
  return releaseWithLoopWatch(options, undefined);
}

/** releaseToOS() for the probe: with a running `recent` watch (near a memory limit), the loop-delay baseline is
 *  its last 200 ms and the release starts at once instead of watching the loop first. */
export async function releaseWithLoopWatch(options: ReleaseOptions | undefined, recent: LoopWatch | undefined): Promise<ReleaseResult> {
  const given = validate(options);
  const { name } = allocator();
  const { gc = true, shrinkHeap = true, onThreadpool = name !== 'mimalloc', pace } = given;
  if (name === 'unknown') throw new SockprobeError('ERR_UNSUPPORTED', 'releaseToOS(): the allocator serving malloc is not one sockprobe knows how to trim');
  const meter = await new JsThreadMeter().started(undefined, recent);
  try {
    return await releaseMeasured(name, { gc, shrinkHeap, onThreadpool, pace: pace || null }, meter);
  } finally {
    meter.dispose(); // already stopped on success; on failure nothing else would
  }
}

async function releaseMeasured(
  kind: ReleaseKind,
  { gc, shrinkHeap, onThreadpool, pace }: { gc: boolean; shrinkHeap: HeapShrink; onThreadpool: boolean; pace: ReleasePace | null },
  meter: JsThreadMeter,
): Promise<ReleaseResult> {
  const startedAt = performance.now();
  const rssBeforeBytes = rssBytes();
  let gcStep: GcStepResult | null = null;
  let rssAfterGc: number | null = null;
  if (gc || shrinkHeap) {
    meter.step('gc');
    gcStep = await runGcStep(shrinkHeap, meter);
    rssAfterGc = rssBytes();
  }
  // On the threadpool, the allocator's figures are read there too: mallinfo2 walks and locks
  // every arena, milliseconds after a spike, which the JS thread should not pay twice.
  const stats = () => (onThreadpool ? allocatorStatsAsync() : Promise.resolve(meter.run(allocatorStats)));
  meter.step('trim');
  const before = await stats();
  const rssBeforeTrim = rssBytes();
  const trim = await releaseInSlices(kind, onThreadpool, meter, pace);
  const rssAfterBytes = rssBytes();
  const after = await stats();
  const figures = releasedFigures({ before: rssBeforeBytes, afterGc: rssAfterGc, beforeTrim: rssBeforeTrim, after: rssAfterBytes });
  return {
    allocator: kind,
    method: RELEASE_METHODS[kind],
    durationMs: trim.durationNs / 1e6,
    cpuMs: trim.threadCpuNs / 1e6,
    slices: trim.slices,
    paced: pace ? { bytesPerSecond: pace.bytesPerSecond, waitedMs: trim.pacedWaitMs } : null,
    threadpoolThreads: trim.threadpoolThreads,
    threadpoolNote: trim.threadpoolNote,
    onThreadpool,
    allocatorSaysReleased: kind === 'glibc' ? trim.flag === 1 : null,
    gc: gcStep && { ...gcStep, releasedBytes: figures.gcReleasedBytes ?? 0 },
    wallMs: performance.now() - startedAt,
    jsThread: await meter.stop(),
    rssBeforeBytes,
    rssAfterBytes,
    releasedBytes: figures.releasedBytes,
    trimReleasedBytes: figures.trimReleasedBytes,
    note: figures.note,
    before,
    after,
  };
}
