/** The native heap profiler concern of the addon (native/heap/), exactly as it behaves. */
export interface NativeHeapRawFrame {
  /** Absolute return address, hex '0x…'. */
  address: string;
  /** Demangled symbol covering the address; null where none does. */
  name: string | null;
  /** Path of the object the address lies in; null outside every object. */
  module: string | null;
  /** address − the module's base; only where module is set. */
  offset?: number;
  /** 'javascript': anonymous executable memory (V8's JIT code). */
  kind: 'native' | 'javascript' | 'unknown';
}

export interface NativeHeapRawSite {
  /** Unbiased estimate of live bytes: each sample scaled by 1 / (1 − exp(−size / sampleBytes)). */
  bytes: number;
  count: number;
  samples: number;
  /** Indices into NativeHeapRawProfile.frames, innermost first, sockprobe's own hook frames removed. */
  stack: number[];
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
  frames: NativeHeapRawFrame[];
  /** One per recorded stack; the same stack may appear twice (merge by frames). */
  sites: NativeHeapRawSite[];
}

export interface NativeHeapStatus {
  active: boolean;
  sampleBytes: number;
  patchedSlots: number;
  dropped: number;
  /** Slots that held something other than our hook when stop() came (left as they were). */
  restoreLeft: number;
}

export interface HeapBinding {
  /** '' where the profiler can work in this process, else why not. The first call resolves
   *  the allocator functions and scans every object's relocations (a few ms). */
  heapProblem(): string;
  heapProblemAsync(): Promise<string>;
  /** Idempotent. Throws TypeError (ERR_INVALID_ARG_*) or ERR_UNSUPPORTED. */
  heapStart(sampleBytes: number): void;
  /** Idempotent; never throws. */
  heapStop(): void;
  heapStatus(): NativeHeapStatus;
  /** bench/native-heap.mjs only: times `count` mallocs of `size` bytes, then their frees,
   *  through the executable's slots; returns [ns per malloc, ns per free]. */
  heapBenchFrees(count: number, size: number): [number, number];
  /** Rejects with ERR_NOT_STARTED when no session runs. */
  heapProfile(): Promise<NativeHeapRawProfile>;
}
