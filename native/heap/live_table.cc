#include "heap/live_table.h"

#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace sockprobe {
namespace heap {

namespace {

// Keys below kFirstAddress are states, never addresses (the first page is never mapped).
constexpr uintptr_t kEmpty = 0;
constexpr uintptr_t kTombstone = 1;
constexpr uintptr_t kBusy = 2;
constexpr uintptr_t kFirstAddress = 4096;

struct LiveEntry {
  uintptr_t key;  // atomic: address, or a state
  uint64_t size;
  uint32_t stack;
  uint32_t generation;  // atomic
};

constexpr uint32_t kUnusable = 0xffffffffu;

struct StackSlot {
  uint64_t hash;    // atomic; 0 free
  uint32_t ready;   // atomic; 0 while being written, depth + 1 once readable, kUnusable if abandoned
  uint32_t offset;  // into g_frames
};

LiveEntry* g_live = nullptr;
StackSlot* g_stacks = nullptr;
uintptr_t* g_frames = nullptr;
std::atomic<uint64_t> g_next_frame{0};
std::atomic<uint64_t> g_dropped{0};
std::mutex g_map_mutex;

void* MapZeroed(size_t bytes) {
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

inline size_t LiveIndex(uintptr_t address) {
  uint64_t x = address >> 4;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<size_t>(x & (kLiveCapacity - 1));
}

inline uintptr_t LoadKey(const LiveEntry& e) { return __atomic_load_n(&e.key, __ATOMIC_ACQUIRE); }
inline bool CasKey(LiveEntry& e, uintptr_t expected, uintptr_t desired) {
  return __atomic_compare_exchange_n(&e.key, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}
inline void FilterAdd(uintptr_t address, int delta) {
  __atomic_fetch_add(&g_filter[FilterIndex(address)], static_cast<uint16_t>(delta), __ATOMIC_RELAXED);
}

}  // namespace

uint16_t* g_filter = nullptr;

bool MapTables() {
  std::lock_guard<std::mutex> lock(g_map_mutex);
  if (__atomic_load_n(&g_filter, __ATOMIC_ACQUIRE) != nullptr) return true;
  auto* live = static_cast<LiveEntry*>(MapZeroed(kLiveCapacity * sizeof(LiveEntry)));
  auto* stacks = static_cast<StackSlot*>(MapZeroed(kStackCapacity * sizeof(StackSlot)));
  auto* frames = static_cast<uintptr_t*>(MapZeroed(kFrameCapacity * sizeof(uintptr_t)));
  auto* filter = static_cast<uint16_t*>(MapZeroed((size_t{1} << kFilterBits) * sizeof(uint16_t)));
  if (live == nullptr || stacks == nullptr || frames == nullptr || filter == nullptr) {
    // Unmapping is safe here: nothing was published.
    if (live) munmap(live, kLiveCapacity * sizeof(LiveEntry));
    if (stacks) munmap(stacks, kStackCapacity * sizeof(StackSlot));
    if (frames) munmap(frames, kFrameCapacity * sizeof(uintptr_t));
    if (filter) munmap(filter, (size_t{1} << kFilterBits) * sizeof(uint16_t));
    return false;
  }
  g_live = live;
  g_stacks = stacks;
  g_frames = frames;
  __atomic_store_n(&g_filter, filter, __ATOMIC_RELEASE);  // published last: the hooks test it
  return true;
}

bool InsertLive(uintptr_t address, uint64_t size, uint32_t stack, uint32_t generation) {
  // An entry already keyed by this address was freed where no hook saw it (inside another
  // library, or by a later-loaded object not yet patched): it is gone, not live twice.
  if (MaybeSampled(address)) RemoveLive(address);
  const size_t start = LiveIndex(address);
  for (size_t i = 0; i < kLiveProbes; ++i) {
    LiveEntry& e = g_live[(start + i) & (kLiveCapacity - 1)];
    uintptr_t key = LoadKey(e);
    if (key == kBusy) continue;
    const bool stale = key >= kFirstAddress && __atomic_load_n(&e.generation, __ATOMIC_RELAXED) != generation;
    if (key >= kFirstAddress && !stale) continue;
    if (!CasKey(e, key, kBusy)) continue;
    // An entry of an earlier session gives its place up, and its filter count.
    if (stale) FilterAdd(key, -1);
    e.size = size;
    e.stack = stack;
    __atomic_store_n(&e.generation, generation, __ATOMIC_RELAXED);
    // Counted before the address is published; no free of it can happen before we return.
    FilterAdd(address, +1);
    __atomic_store_n(&e.key, address, __ATOMIC_RELEASE);
    return true;
  }
  g_dropped.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool RemoveLive(uintptr_t address) {
  const size_t start = LiveIndex(address);
  for (size_t i = 0; i < kLiveProbes; ++i) {
    LiveEntry& e = g_live[(start + i) & (kLiveCapacity - 1)];
    const uintptr_t key = LoadKey(e);
    if (key == kEmpty) return false;
    if (key != address) continue;
    if (CasKey(e, address, kTombstone)) {
      FilterAdd(address, -1);
      return true;
    }
    return false;  // an insert reclaimed it as stale meanwhile
  }
  return false;
}

uint32_t InternStack(const uintptr_t* frames, size_t depth) {
  if (g_stacks == nullptr || depth == 0) return 0;
  uint64_t hash = 0xcbf29ce484222325ull ^ depth;
  for (size_t i = 0; i < depth; ++i) hash = (hash ^ frames[i]) * 0x100000001b3ull;
  hash |= 1;
  const size_t start = static_cast<size_t>(hash ^ (hash >> 29));
  for (size_t i = 0; i < kStackProbes; ++i) {
    const size_t index = (start + i) & (kStackCapacity - 1);
    StackSlot& slot = g_stacks[index];
    uint64_t seen = __atomic_load_n(&slot.hash, __ATOMIC_ACQUIRE);
    if (seen == 0) {
      if (!__atomic_compare_exchange_n(&slot.hash, &seen, hash, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (seen != hash) continue;
      } else {
        const uint64_t offset = g_next_frame.fetch_add(depth, std::memory_order_relaxed);
        if (offset + depth > kFrameCapacity) {
          __atomic_store_n(&slot.ready, kUnusable, __ATOMIC_RELEASE);
          return 0;
        }
        memcpy(g_frames + offset, frames, depth * sizeof(uintptr_t));
        slot.offset = static_cast<uint32_t>(offset);
        __atomic_store_n(&slot.ready, static_cast<uint32_t>(depth + 1), __ATOMIC_RELEASE);
        return static_cast<uint32_t>(index + 1);
      }
    }
    if (seen != hash) continue;
    const uint32_t ready = __atomic_load_n(&slot.ready, __ATOMIC_ACQUIRE);
    // One being written by another thread: store a duplicate elsewhere rather than wait.
    if (ready == 0 || ready == kUnusable || ready != depth + 1) continue;
    if (memcmp(g_frames + slot.offset, frames, depth * sizeof(uintptr_t)) == 0) return static_cast<uint32_t>(index + 1);
  }
  return 0;
}

std::vector<uintptr_t> StackFrames(uint32_t id) {
  if (id == 0 || id > kStackCapacity || g_stacks == nullptr) return {};
  const StackSlot& slot = g_stacks[id - 1];
  const uint32_t ready = __atomic_load_n(&slot.ready, __ATOMIC_ACQUIRE);
  if (ready == 0 || ready == kUnusable) return {};
  return std::vector<uintptr_t>(g_frames + slot.offset, g_frames + slot.offset + (ready - 1));
}

std::vector<LiveSample> SnapshotLive(uint32_t generation) {
  std::vector<LiveSample> samples;
  if (g_live == nullptr) return samples;
  for (size_t i = 0; i < kLiveCapacity; ++i) {
    LiveEntry& e = g_live[i];
    const uintptr_t key = LoadKey(e);
    if (key < kFirstAddress || __atomic_load_n(&e.generation, __ATOMIC_RELAXED) != generation) continue;
    LiveSample sample{e.size, e.stack};
    // The entry may have been freed and reused while we read it: keep it only if unchanged.
    if (LoadKey(e) != key) continue;
    samples.push_back(sample);
  }
  return samples;
}

uint64_t DroppedSamples() { return g_dropped.load(std::memory_order_relaxed); }
void ResetDropped() { g_dropped.store(0, std::memory_order_relaxed); }

}  // namespace heap
}  // namespace sockprobe
