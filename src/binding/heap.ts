/**
 * The native heap profiler concern of the addon (native/heap/), exactly as it behaves.
 *
 * A profile comes as flat tables (native/heap/profile_tables.h): typed arrays over one
 * ArrayBuffer (memory the addon made on the threadpool, lent to V8, so the profiler never
 * counts it as the application's) and one string, so that the JS thread's completion
 * callback makes a handful of values whatever the profile's size. One module,
 * src/native-heap/decode.ts, reads them into objects in slices.
 */
export interface NativeHeapRawFrames {
  /** Per frame, its absolute return address as two uint32, high half then low half. */
  addresses: Uint32Array;
  /** Per frame, its demangled symbol's index in the profile's strings; −1 where none covers it. */
  names: Int32Array;
  /** Per frame, the index of the path of the object it lies in; −1 outside every object. */
  modules: Int32Array;
  /** Per frame, address − its module's base (0 outside every object). */
  offsets: Float64Array;
  /** Per frame, an index into kindNames. */
  kinds: Uint8Array;
  /** 'javascript': anonymous executable memory (V8's JIT code). */
  kindNames: Array<'native' | 'javascript' | 'unknown'>;
}

/** One entry per distinct stack (sites with equal stacks are merged), largest bytes first. */
export interface NativeHeapRawSites {
  /** Unbiased estimate of live bytes: each sample scaled by 1 / (1 − exp(−size / sampleBytes)). */
  bytes: Float64Array;
  counts: Float64Array;
  samples: Float64Array;
  /** How many of stackFrames each site takes, in order. */
  stackLengths: Uint32Array;
  /** Every site's frame indices one after another, innermost first, sockprobe's own hook frames removed. */
  stackFrames: Uint32Array;
}

export interface NativeHeapRawProfile {
  sampleBytes: number;
  startedAt: number;
  takenAt: number;
  dropped: number;
  patchedSlots: number;
  /** Real path of the executable (its frames name it as module). */
  executable: string;
  /** The preloaded allocator serving malloc, '' when libc does. */
  allocatorObject: string;
  /** The distinct names and module paths, each followed by '\0'. */
  strings: string;
  /** Only the frames some site reaches, numbered in order of first use. */
  frames: NativeHeapRawFrames;
  sites: NativeHeapRawSites;
}

export interface NativeHeapStatus {
  active: boolean;
  sampleBytes: number;
  patchedSlots: number;
  dropped: number;
  /** Slots that held something other than our hook when stop() came (left as they were). */
  restoreLeft: number;
  /** The running session's id; 0 when none runs. */
  session: number;
  /** References held to the running session, over every realm (main thread and workers). */
  users: number;
  /** Date.now() when the running session started; 0 when none runs. */
  startedAt: number;
}

export interface HeapBinding {
  /** '' where the profiler can work in this process, else why not. The first call resolves
   *  the allocator functions and scans every object's relocations (a few ms). */
  heapProblem(): string;
  heapProblemAsync(): Promise<string>;
  /** Takes one reference to the process-wide session (starting it when none runs) for this
   *  realm and returns the session's id. Throws TypeError (ERR_INVALID_ARG_*), ERR_UNSUPPORTED,
   *  or ERR_SESSION_CONFLICT when a session runs at another sampleBytes (nothing changes then). */
  heapStart(sampleBytes: number): number;
  /** Gives back one of this realm's references to `session` (the last one ends it); true where
   *  this realm held one. Never throws. A realm's references are given back at its teardown. */
  heapStop(session: number): boolean;
  heapStatus(): NativeHeapStatus;
  /** Rejects with ERR_NOT_STARTED when no session runs. */
  heapProfile(): Promise<NativeHeapRawProfile>;
}
