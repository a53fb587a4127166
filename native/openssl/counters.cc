#include "openssl/counters.h"

#include <pthread.h>

#include <atomic>
#include <mutex>

namespace sockprobe {

namespace {

constexpr size_t kSlots = 256;

// One thread's counters. Only the owning thread writes them (relaxed load + store, no
// locked instruction); readers load them. alignas(64) keeps two threads' slots off one line.
struct alignas(64) Slot {
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> alloc_bytes{0};
  std::atomic<uint64_t> freed_bytes{0};
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> frees{0};
  std::atomic<uint64_t> reallocs{0};
  int64_t unflushed = 0;  // live delta not yet added to the session total; owner only
  std::atomic<bool> owned{false};
};

Slot g_slots[kSlots];

// Threads beyond kSlots, and threads past their thread_local destructors (OpenSSL frees its
// per-thread state from pthread key destructors, which glibc runs after those), share this
// slot under a mutex: a cold path, never the common one.
Slot g_shared;
std::mutex g_shared_mutex;

// Session running total and peak, each packed with the low 16 bits of the generation so a
// batch from an older session can be recognised and dropped in the same compare-and-swap.
constexpr int64_t kBias = int64_t{1} << 47;
constexpr uint64_t kValueMask = (uint64_t{1} << 48) - 1;
std::atomic<uint64_t> g_live_word{0};
std::atomic<uint64_t> g_peak_word{0};

uint64_t Pack(uint64_t generation, int64_t value) {
  return (generation << 48) | (static_cast<uint64_t>(value + kBias) & kValueMask);
}
bool Unpack(uint64_t word, uint64_t generation, int64_t* value) {
  if ((word >> 48) != (generation & 0xffff)) return false;
  *value = static_cast<int64_t>(word & kValueMask) - kBias;
  return true;
}

void RaisePeak(uint64_t generation, int64_t live) {
  uint64_t word = g_peak_word.load(std::memory_order_relaxed);
  int64_t peak = 0;
  while (Unpack(word, generation, &peak) && live > peak) {
    if (g_peak_word.compare_exchange_weak(word, Pack(generation, live), std::memory_order_relaxed)) return;
  }
}

void Flush(uint64_t generation, int64_t delta) {
  uint64_t word = g_live_word.load(std::memory_order_relaxed);
  int64_t live = 0;
  while (Unpack(word, generation, &live)) {
    if (g_live_word.compare_exchange_weak(word, Pack(generation, live + delta), std::memory_order_relaxed)) {
      RaisePeak(generation, live + delta);
      return;
    }
  }
}

// Releases the thread's slot when the thread ends; its counts stay for the next owner.
// A pthread key destructor rather than a C++ thread_local destructor: registering the
// latter takes the dynamic linker's load lock, which a hook running inside OpenSSL (with
// OpenSSL's own locks held) must not wait for. glibc runs key destructors in key order and
// OpenSSL created its thread-exit key at start-up, before ours, so its per-thread frees
// usually still find this slot; any later ones go to the shared slot, counted all the same.
pthread_key_t g_release_key;
bool g_release_key_ready = false;

thread_local Slot* t_slot = nullptr;

void ReleaseSlot(void* data) {
  static_cast<Slot*>(data)->owned.store(false, std::memory_order_release);
  t_slot = &g_shared;  // anything this thread allocates from now on goes to the shared slot
}

Slot* ClaimSlot() {
  if (!g_release_key_ready) return &g_shared;
  // Start the search at a per-thread position so threads rarely contend for one slot.
  const size_t start = (reinterpret_cast<uintptr_t>(&t_slot) >> 12) % kSlots;
  for (size_t i = 0; i < kSlots; ++i) {
    Slot& slot = g_slots[(start + i) % kSlots];
    bool expected = false;
    if (!slot.owned.load(std::memory_order_relaxed) &&
        slot.owned.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      if (pthread_setspecific(g_release_key, &slot) != 0) {
        slot.owned.store(false, std::memory_order_release);  // could not arrange its release
        return &g_shared;
      }
      return &slot;
    }
  }
  return &g_shared;
}

inline void Add(std::atomic<uint64_t>& counter, uint64_t value) {
  counter.store(counter.load(std::memory_order_relaxed) + value, std::memory_order_release);
}

// Brings the slot into `generation`; false when the caller's generation is older than the
// slot's (the caller raced a restart), in which case its event belongs to no live session.
inline bool Enter(Slot* slot, uint64_t generation) {
  const uint64_t current = slot->generation.load(std::memory_order_relaxed);
  if (current == generation) return true;
  if (current > generation) return false;
  slot->alloc_bytes.store(0, std::memory_order_relaxed);
  slot->freed_bytes.store(0, std::memory_order_relaxed);
  slot->allocations.store(0, std::memory_order_relaxed);
  slot->frees.store(0, std::memory_order_relaxed);
  slot->reallocs.store(0, std::memory_order_relaxed);
  slot->unflushed = 0;
  // Release: a reader that sees the new generation sees the zeroed counters.
  slot->generation.store(generation, std::memory_order_release);
  return true;
}

inline void Track(Slot* slot, uint64_t generation, int64_t delta) {
  slot->unflushed += delta;
  if (slot->unflushed >= kPeakFlushBytes || slot->unflushed <= -kPeakFlushBytes) {
    Flush(generation, slot->unflushed);
    slot->unflushed = 0;
  }
}

// Runs `update` on the caller's slot; the shared slot is updated under its mutex.
template <typename Update>
inline void WithSlot(uint64_t generation, Update update) {
  Slot* slot = t_slot;
  if (__builtin_expect(slot == nullptr, 0)) slot = t_slot = ClaimSlot();
  if (__builtin_expect(slot == &g_shared, 0)) {
    std::lock_guard<std::mutex> lock(g_shared_mutex);
    if (Enter(slot, generation)) update(slot);
    return;
  }
  if (Enter(slot, generation)) update(slot);
}

}  // namespace

void CountAllocation(uint64_t generation, size_t bytes) {
  WithSlot(generation, [&](Slot* slot) {
    Add(slot->alloc_bytes, bytes);
    Add(slot->allocations, 1);
    Track(slot, generation, static_cast<int64_t>(bytes));
  });
}

void CountFree(uint64_t generation, size_t bytes) {
  WithSlot(generation, [&](Slot* slot) {
    Add(slot->freed_bytes, bytes);
    Add(slot->frees, 1);
    Track(slot, generation, -static_cast<int64_t>(bytes));
  });
}

void CountRealloc(uint64_t generation, bool old_tracked, size_t old_bytes, size_t new_bytes) {
  WithSlot(generation, [&](Slot* slot) {
    Add(slot->alloc_bytes, new_bytes);
    if (old_tracked)
      Add(slot->freed_bytes, old_bytes);
    else
      Add(slot->allocations, 1);  // a block from before the session becomes tracked
    Add(slot->reallocs, 1);
    Track(slot, generation, static_cast<int64_t>(new_bytes) - static_cast<int64_t>(old_tracked ? old_bytes : 0));
  });
}

bool PrepareCounters() {
  if (!g_release_key_ready) g_release_key_ready = pthread_key_create(&g_release_key, ReleaseSlot) == 0;
  return g_release_key_ready;
}

void ResetSession(uint64_t generation) {
  g_live_word.store(Pack(generation, 0), std::memory_order_relaxed);
  g_peak_word.store(Pack(generation, 0), std::memory_order_relaxed);
}

CounterTotals SumSession(uint64_t generation) {
  CounterTotals totals;
  // Frees first, allocations second: every free counted was preceded by its allocation,
  // which the second pass therefore sees, so live bytes and blocks are never negative.
  auto sum_frees = [&](const Slot& slot) {
    if (slot.generation.load(std::memory_order_acquire) != generation) return;
    totals.freed_bytes += slot.freed_bytes.load(std::memory_order_acquire);
    totals.frees += slot.frees.load(std::memory_order_acquire);
  };
  auto sum_allocations = [&](const Slot& slot) {
    if (slot.generation.load(std::memory_order_acquire) != generation) return;
    totals.alloc_bytes += slot.alloc_bytes.load(std::memory_order_acquire);
    totals.allocations += slot.allocations.load(std::memory_order_acquire);
    totals.reallocs += slot.reallocs.load(std::memory_order_acquire);
  };
  for (const Slot& slot : g_slots) sum_frees(slot);
  {
    std::lock_guard<std::mutex> lock(g_shared_mutex);
    sum_frees(g_shared);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (const Slot& slot : g_slots) sum_allocations(slot);
  {
    std::lock_guard<std::mutex> lock(g_shared_mutex);
    sum_allocations(g_shared);
  }
  const int64_t live = static_cast<int64_t>(totals.alloc_bytes - totals.freed_bytes);
  RaisePeak(generation, live);
  int64_t peak = live;
  Unpack(g_peak_word.load(std::memory_order_relaxed), generation, &peak);
  totals.peak_bytes = peak > live ? peak : live;
  return totals;
}

}  // namespace sockprobe
