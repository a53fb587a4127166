/** Sampled live native-heap profile by call site, in the running process (no preload, no restart). */
import { SockprobeError, SockprobeTypeError } from '../errors';
import { native } from '../native';
import { runtimeLimits } from '../runtime';
import { decodeProfile } from './decode';
import { JsNames } from './js-names';
import type { NativeHeapProfile } from './profile';
import { diffProfiles } from './diff';
import { encodePprof } from './pprof';
import { BareLeases, SessionLease, type SessionHandle } from '../session-lease';
import { sampleBytesOption } from '../options/sample-bytes';

export { categorize } from './categories';
export { describeFrame } from './symbols';
export type { NativeHeapCategory, NativeHeapFrame, NativeHeapProfile, NativeHeapSite } from './profile';
export type { NativeHeapDiff, NativeHeapSiteDiff } from './diff';
export type { SessionEnd, SessionHandle } from '../session-lease';

/** A reference to the process-wide native heap session. */
export interface NativeHeapSession extends SessionHandle {
  /** The session's mean bytes between samples (every user of a session shares it). */
  readonly sampleBytes: number;
}

export interface NativeHeapStartOptions {
  /** Mean bytes between samples (Poisson by bytes); an integer from 1 KiB to 1 GiB. Default 512 KiB. */
  sampleBytes?: number;
}

export { DEFAULT_SAMPLE_BYTES } from '../options/sample-bytes';

export interface NativeHeapProfileReadOptions {
  /** Build site objects for the largest this many sites only: bounds the JS heap a profile takes
   *  (a heavy profile at 1 KiB sampling runs to thousands of sites of ~40 frames, megabytes of
   *  objects). The others count in totalBytes and categories, and in `omitted`. Default: all. */
  maxSites?: number;
}

function problem(): string {
  return runtimeLimits()?.nativeHeapProfiling ?? native().heapProblem();
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

let firstCheck: Promise<true | string> | undefined;
let firstCheckDone = false;

/** nativeHeapSupport() with the first check (it resolves the allocator and reads every
 *  loaded object's relocations) on the threadpool. Later answers are asked afresh (a few µs):
 *  another copy of sockprobe or another tool may take the malloc slots, or give them back. */
function supported(): Promise<true | string> {
  if (firstCheckDone) return Promise.resolve(nativeHeapSupport());
  firstCheck ??= (async () => {
    try {
      return runtimeLimits()?.nativeHeapProfiling ?? ((await native().heapProblemAsync()) || true);
    } catch (error) {
      return (error as Error).message;
    } finally {
      firstCheckDone = true;
    }
  })();
  return firstCheck;
}

class HeapLease extends SessionLease implements NativeHeapSession {
  constructor(
    session: number,
    sinceMs: number,
    readonly sampleBytes: number,
    onStop?: (lease: SessionLease) => void,
  ) {
    super(session, sinceMs, seam, onStop);
  }
}

const seam = {
  release: (session: number) => void native().heapStop(session),
  running: () => native().heapStatus().session,
};
const bare = new BareLeases();

function lease(options: NativeHeapStartOptions, onStop?: (lease: SessionLease) => void): HeapLease {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  const sampleBytes = sampleBytesOption('options.sampleBytes', options.sampleBytes);
  const binding = native();
  const session = binding.heapStart(sampleBytes);
  return new HeapLease(session, binding.heapStatus().startedAt, sampleBytes, onStop);
}

function start(options: NativeHeapStartOptions = {}): NativeHeapSession {
  return bare.add(lease(options, (own) => bare.forget(own))) as HeapLease;
}

function session(options: NativeHeapStartOptions = {}): NativeHeapSession {
  return lease(options);
}

function stop(): void {
  bare.stopAll('nativeHeap.stop() was called');
}

/** The running session's sampleBytes, null when none runs. */
function runningSampleBytes(): number | null {
  const status = native().heapStatus();
  return status.active ? status.sampleBytes : null;
}

function active(): boolean {
  return native().heapStatus().active;
}

async function profile(options: NativeHeapProfileReadOptions = {}): Promise<NativeHeapProfile> {
  if (options === null || typeof options !== 'object') throw new SockprobeTypeError('options', 'an object', options);
  const maxSites = options.maxSites ?? Infinity;
  if (maxSites !== Infinity && (typeof maxSites !== 'number' || !Number.isSafeInteger(maxSites) || maxSites < 1)) {
    throw new SockprobeTypeError(
      'options.maxSites',
      'a positive integer',
      maxSites,
      typeof maxSites === 'number' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE',
    );
  }
  const why = problem();
  if (why) throw new SockprobeError('ERR_UNSUPPORTED', `native heap profiling is not available: ${why}`);
  // The seam rebuilds a rejection (ERR_NOT_STARTED) with this caller's stack. The objects
  // are built in slices, yielding to the event loop between them.
  // V8's perf map, where the process writes one, is read (what was appended since the last
  // profile) while the addon symbolizes on the threadpool.
  const [raw, names] = await Promise.all([native().heapProfile(), jsNames.current()]);
  return decodeProfile(raw, undefined, maxSites, names);
}

const jsNames = new JsNames();

/**
 * The native heap, sampled by call site: the session patches the GOT slots through which every
 * loaded object calls malloc/free/operator new/delete (and objects loaded later, at each
 * profile()), and its end puts back exactly what was there. One process-wide session, shared by
 * every user (worker threads too) and reference-counted: it begins with the first user's
 * start() and ends when the last user gives its reference back, never under another's feet.
 */
export const nativeHeap = Object.freeze({
  /** true where profiling works here, else why not, with the first check on the threadpool. */
  supported,
  /** Takes a reference to the session (starting it when none runs) and returns it as a handle
   *  whose stop() gives back that reference alone; stop() below gives back every reference this
   *  realm's start() calls took. Throws SockprobeTypeError for a bad sampleBytes,
   *  ERR_UNSUPPORTED where it cannot work, ERR_SESSION_CONFLICT (naming the running rate) when
   *  the running session samples at another sampleBytes. */
  start,
  /** A reference of your own (a library's, a probe's): only the handle's stop() gives it back. */
  session,
  /** Gives back the references this realm's start() calls took. When they were the last, every
   *  patched slot is restored and blocks sampled and still live are forgotten; otherwise the
   *  session runs on for its other users. Idempotent. */
  stop,
  /** A session runs in this process (whoever started it). */
  active,
  /** The running session's sampleBytes, null when none runs. */
  runningSampleBytes,
  /** The live sampled heap since start(), symbolized on the threadpool. Rejects with
   *  ERR_NOT_STARTED outside a session. `{ maxSites }` bounds the objects it builds. */
  profile,
  /** A gzipped pprof protobuf (.pb.gz) of the given profile, or of one taken now (heap-tools: pprof.ts). */
  toPprof: async (given?: NativeHeapProfile): Promise<Buffer> => encodePprof(given === undefined ? await profile() : given),
  /** What grew between two profiles, per site and category (heap-tools: diff.ts). */
  diff: diffProfiles,
});
