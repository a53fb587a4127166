// Allocation counters without a shared hot spot: each thread writes its own cache-line
// slot (single writer, plain loads and stores), and stats() sums the slots. Counters belong
// to a tracking session (generation); a slot whose generation is older is reset by its owner
// on first use, so a session never inherits counts from the one before.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sockprobe {

struct CounterTotals {
  uint64_t alloc_bytes = 0;  // bytes that became tracked (malloc, realloc growth side)
  uint64_t freed_bytes = 0;  // tracked bytes released (free, realloc shrink side)
  uint64_t allocations = 0;  // blocks that became tracked
  uint64_t frees = 0;        // tracked blocks released
  uint64_t reallocs = 0;     // realloc calls that resized a block
  int64_t peak_bytes = 0;    // highest live bytes seen (see FlushThreshold)
};

// Live bytes are also kept as one running total per session, fed in batches of at least
// this many bytes per thread, to follow the peak without touching shared memory per call.
// The peak is therefore exact to within this figure per thread that allocated.
constexpr int64_t kPeakFlushBytes = 8 * 1024;

// Hot path, called from OpenSSL's allocator hooks on any thread, for session `generation`.
void CountAllocation(uint64_t generation, size_t bytes);
void CountFree(uint64_t generation, size_t bytes);
// `old_tracked` says whether the block was tracked in this session before the resize.
void CountRealloc(uint64_t generation, bool old_tracked, size_t old_bytes, size_t new_bytes);

// Control path (serialised by the caller). Once, before any hook runs: false when the
// thread-exit key cannot be created (then every thread uses the shared slot).
bool PrepareCounters();
// Begin a session, and sum one.
void ResetSession(uint64_t generation);
CounterTotals SumSession(uint64_t generation);

}  // namespace sockprobe
