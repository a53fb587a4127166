/** Sampled live native-heap profile by call site, in the running process (no preload, no restart). */
import { SockprobeError, SockprobeTypeError } from '../errors';
import { native } from '../native';
import { decodeProfile } from './decode';
import type { NativeHeapProfile } from './profile';
import { diffProfiles } from './diff';
import { encodePprof } from './pprof';

export { categorize } from './categories';
export { describeFrame } from './symbols';
export type { NativeHeapCategory, NativeHeapFrame, NativeHeapProfile, NativeHeapSite } from './profile';
export type { NativeHeapDiff, NativeHeapSiteDiff } from './diff';

export interface NativeHeapStartOptions {
  /** Mean bytes between samples (Poisson by bytes); a positive integer. Default 512 KiB. */
  sampleBytes?: number;
}

export const DEFAULT_SAMPLE_BYTES = 512 * 1024;

function problem(): string {
  return native().heapProblem();
}

/** true where native heap profiling works in this process, else why not. */
export function nativeHeapSupport(): true | string {
  try {
    return problem() || true;
  } catch (error) {
    return (error as Error).message;
  }
}

export function nativeHeapCapabilities(): Record<string, true | string> {
  return { nativeHeapProfiling: nativeHeapSupport() };
}

let supportPending: Promise<true | string> | undefined;

/** nativeHeapSupport() with the first check (it resolves the allocator and reads every
 *  loaded object's relocations) on the threadpool. */
function supported(): Promise<true | string> {
  supportPending ??= (async () => {
    try {
      return (await native().heapProblemAsync()) || true;
    } catch (error) {
      return (error as Error).message;
    }
  })();
  return supportPending;
}

function start(options: NativeHeapStartOptions = {}): void {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  const sampleBytes = options.sampleBytes ?? DEFAULT_SAMPLE_BYTES;
  if (typeof sampleBytes !== 'number') throw new SockprobeTypeError('options.sampleBytes', 'a positive integer', sampleBytes);
  if (!Number.isSafeInteger(sampleBytes) || sampleBytes < 1) {
    throw new SockprobeTypeError('options.sampleBytes', 'a positive integer', sampleBytes, 'ERR_INVALID_ARG_VALUE');
  }
  native().heapStart(sampleBytes);
}

function stop(): void {
  native().heapStop();
}

function active(): boolean {
  return native().heapStatus().active;
}

async function profile(): Promise<NativeHeapProfile> {
  const why = problem();
  if (why) throw new SockprobeError('ERR_UNSUPPORTED', `native heap profiling is not available: ${why}`);
  // The seam rebuilds a rejection (ERR_NOT_STARTED) with this caller's stack. The objects
  // are built in slices, yielding to the event loop between them.
  return decodeProfile(await native().heapProfile());
}

/**
 * The native heap, sampled by call site: start() patches the GOT slots through which every
 * loaded object calls malloc/free/operator new/delete (and objects loaded later, at each
 * profile()), stop() puts back exactly what was there. start() and stop() are idempotent
 * and safe from any thread; worker threads share one process-wide session.
 */
export const nativeHeap = Object.freeze({
  /** true where profiling works here, else why not, with the first check on the threadpool. */
  supported,
  /** Starts sampling; a second start() while running keeps the running session. Throws
   *  SockprobeTypeError for a bad sampleBytes, ERR_UNSUPPORTED where it cannot work. */
  start,
  /** Restores every patched slot; blocks sampled and still live are forgotten. */
  stop,
  active,
  /** The live sampled heap since start(), symbolized on the threadpool. Rejects with
   *  ERR_NOT_STARTED outside a session. */
  profile,
  /** A gzipped pprof protobuf (.pb.gz) of the given profile, or of one taken now (heap-tools: pprof.ts). */
  toPprof: async (given?: NativeHeapProfile): Promise<Buffer> => encodePprof(given === undefined ? await profile() : given),
  /** What grew between two profiles, per site and category (heap-tools: diff.ts). */
  diff: diffProfiles,
});
