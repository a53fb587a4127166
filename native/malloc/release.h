// Giving free memory back to the OS with whichever allocator serves malloc: in one call, or
// in slices short enough that no lock the JS thread may need is held for long.
#pragma once
#include <cstddef>
#include <cstdint>

#include "malloc/kind.h"

namespace sockprobe {

struct ReleaseOutcome {
  bool supported = false;
  int flag = -1;     // malloc_trim's return (1 released something, 0 nothing); -1 elsewhere
  bool done = true;  // slices: nothing left for a further slice to do
  uint64_t duration_ns = 0;
  uint64_t thread_cpu_ns = 0;
};

ReleaseOutcome ReleaseFreeMemory(AllocatorKind kind);

// Slice `index` (0, 1, 2, … until `done`) of a release:
//  glibc     malloc_trim(0) in one slice (glibc has no public per-arena or bounded trim)
//  jemalloc  arena.<index>.purge: one arena per slice
//  tcmalloc  MallocExtension_ReleaseToSystem(budget_bytes) per slice, until its page heap
//            holds no free bytes or a slice returns nothing
//  mimalloc  mi_collect(true) in one slice (it collects the calling thread's heap)
ReleaseOutcome ReleaseSlice(AllocatorKind kind, unsigned index, size_t budget_bytes);

// What the calling thread's own allocator cache holds goes back to the shared lists, so a
// release can return it: jemalloc thread.tcache.flush, tcmalloc MarkThreadIdle, mimalloc
// mi_collect(true) (the calling thread's heap: its free pages and their purge). Cheap (µs to
// a few ms); false where the allocator has no such per-thread call (glibc).
bool ReleaseThreadCache(AllocatorKind kind);

}  // namespace sockprobe
