#include "malloc/release.h"

#include "common/clock.h"
#include "malloc/allocators.h"

namespace sockprobe {

// Times `step` (wall and this thread's CPU), which fills in the rest of the outcome.
template <typename Step>
static ReleaseOutcome Timed(Step step) {
  ReleaseOutcome outcome;
  const uint64_t wall_start = ClockNanos(CLOCK_MONOTONIC);
  const uint64_t cpu_start = ClockNanos(CLOCK_THREAD_CPUTIME_ID);
  step(&outcome);
  outcome.duration_ns = ClockNanos(CLOCK_MONOTONIC) - wall_start;
  outcome.thread_cpu_ns = ClockNanos(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
  return outcome;
}

ReleaseOutcome ReleaseFreeMemory(AllocatorKind kind) {
  return Timed([kind](ReleaseOutcome* outcome) {
    switch (kind) {
      case AllocatorKind::kGlibc: outcome->supported = GlibcTrim(&outcome->flag); break;
      case AllocatorKind::kJemalloc: outcome->supported = JemallocPurge(); break;
      case AllocatorKind::kTcmalloc: outcome->supported = TcmallocRelease(); break;
      case AllocatorKind::kMimalloc: outcome->supported = MimallocCollect(); break;
    }
  });
}

// ReleaseToSystem(n) releases whole spans, so it may release more than n; it keeps the excess
// as credit and the next call for less than that releases nothing. A slice that released
// nothing therefore tries once more before it says the page heap is done.
static void TcmallocSlice(size_t budget_bytes, ReleaseOutcome* outcome) {
  size_t unmapped_before = 0, unmapped_after = 0, free_after = 0;
  outcome->supported = TcmallocProperty("tcmalloc.pageheap_unmapped_bytes", &unmapped_before);
  for (int attempt = 0; outcome->supported && attempt < 2; attempt++) {
    outcome->supported = TcmallocReleaseBytes(budget_bytes) &&
                         TcmallocProperty("tcmalloc.pageheap_unmapped_bytes", &unmapped_after) &&
                         TcmallocProperty("tcmalloc.pageheap_free_bytes", &free_after);
    if (unmapped_after > unmapped_before) break;
  }
  outcome->done = !outcome->supported || free_after == 0 || unmapped_after <= unmapped_before;
}

ReleaseOutcome ReleaseSlice(AllocatorKind kind, unsigned index, size_t budget_bytes) {
  if (kind == AllocatorKind::kJemalloc) {
    return Timed([index](ReleaseOutcome* outcome) {
      unsigned arenas = 0;
      outcome->supported = JemallocArenaCount(&arenas) && (index >= arenas || JemallocPurgeArena(index));
      outcome->done = index + 1 >= arenas;
    });
  }
  if (kind == AllocatorKind::kTcmalloc)
    return Timed([budget_bytes](ReleaseOutcome* outcome) { TcmallocSlice(budget_bytes, outcome); });
  return ReleaseFreeMemory(kind);  // glibc, mimalloc: one slice
}

bool ReleaseThreadCache(AllocatorKind kind) {
  if (kind == AllocatorKind::kJemalloc) return JemallocFlushThreadCache();
  if (kind == AllocatorKind::kTcmalloc) return TcmallocMarkThreadIdle();
  if (kind == AllocatorKind::kMimalloc)
    return MimallocCollect();  // mi_collect(true) collects the calling thread's heap
  return false;
}

}  // namespace sockprobe
