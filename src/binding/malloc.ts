/** The malloc concern of the addon (native/malloc/init.cc), exactly as it behaves. */
export type ReleaseKind = 'glibc' | 'jemalloc' | 'tcmalloc' | 'mimalloc';

export interface MallocOwnerInfo {
  /** The object `malloc` resolves into, as the dynamic linker names it. */
  path: string;
  /** Which allocator API that object itself defines. */
  glibc: boolean;
  jemalloc: boolean;
  tcmalloc: boolean;
  mimalloc: boolean;
  mallinfo2: boolean;
  mallocTrim: boolean;
  glibcVersion: string | null;
  jemallocVersion: string | null;
  tcmallocVersion: string | null;
  mimallocVersion: number | null;
}

/** glibc `struct mallinfo2`, every field, in bytes (counts where the field is a count). */
export interface NativeMallinfo2 {
  /** Bytes obtained from the system for the arenas (sbrk and arena mmaps). */
  arena: number;
  /** Free chunks. */
  ordblks: number;
  /** Free fastbin blocks. */
  smblks: number;
  /** Separately mmapped regions. */
  hblks: number;
  /** Bytes in separately mmapped regions. */
  hblkhd: number;
  usmblks: number;
  /** Bytes in free fastbin blocks. */
  fsmblks: number;
  /** Bytes in use by the application (tcache blocks count as in use). */
  uordblks: number;
  /** Free bytes held in the arenas. */
  fordblks: number;
  /** Releasable top of the main arena. */
  keepcost: number;
}

export interface NativeReleaseOutcome {
  /** malloc_trim's return value (1 released something, 0 nothing); -1 for other allocators. */
  flag: number;
  /** releaseSlice: nothing is left for a further slice to do (always true for release()). */
  done: boolean;
  durationNs: number;
  threadCpuNs: number;
}

export interface ThreadCacheRelease {
  /** The allocator has a per-thread cache call and it ran (false for glibc). */
  released: boolean;
  /** gettid() of the pool thread it ran on. */
  threadId: number;
  waitedNs: number;
  /** tcmalloc's own count of that thread's cache (MallocExtension_GetThreadCacheSize) before and
   *  after the call; null under the other allocators. */
  cacheBytesBefore: number | null;
  cacheBytesAfter: number | null;
}

export interface MallocBinding {
  mallocOwner(): MallocOwnerInfo;
  /** Throws ERR_UNSUPPORTED where libc has no mallinfo2. */
  mallinfo2(): NativeMallinfo2;
  mallocInfoXml(): string;
  /** Throws ERR_ALLOCATOR_NOT_SERVING when `kind` does not serve malloc. */
  allocatorNumbers(kind: 'jemalloc' | 'tcmalloc' | 'mimalloc'): Record<string, number>;
  /** The same figures (glibc: the mallinfo2 fields) read on the threadpool. */
  allocatorNumbersAsync(kind: ReleaseKind): Promise<Record<string, number>>;
  allocatorStatsText(kind: 'glibc' | 'tcmalloc' | 'mimalloc'): string;
  release(kind: ReleaseKind, onThreadpool: false): NativeReleaseOutcome;
  release(kind: ReleaseKind, onThreadpool: true): Promise<NativeReleaseOutcome>;
  /** Slice `index` of a release (native/malloc/release.h says what a slice is per allocator).
   *  Throws ERR_INVALID_ARG_VALUE unless 0 <= index < 65536 and 4096 <= budgetBytes <= 2^40. */
  releaseSlice(kind: ReleaseKind, index: number, budgetBytes: number, onThreadpool: false): NativeReleaseOutcome;
  releaseSlice(kind: ReleaseKind, index: number, budgetBytes: number, onThreadpool: true): Promise<NativeReleaseOutcome>;
  /** The calling thread's allocator cache back to the shared lists (jemalloc tcache flush,
   *  tcmalloc MarkThreadIdle, mimalloc mi_collect(true)); false for glibc. */
  releaseThreadCache(kind: string): boolean;
  /** The same on the libuv threadpool's threads: `count` work items that meet (each waiting at
   *  most `waitMs` for the others) so they run on different pool threads. One promise per item.
   *  Throws ERR_INVALID_ARG_VALUE unless 1 <= count <= 1024 and 0 <= waitMs <= 100. */
  releaseThreadpoolCaches(kind: ReleaseKind, count: number, waitMs: number): Array<Promise<ThreadCacheRelease>>;
}
