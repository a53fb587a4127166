// Sampled blocks still live, keyed by address, in a pre-sized lock-free open-addressing
// table that is mapped once and never unmapped (a free on another thread may be reading it
// at any moment, during or after stop()). A counting filter in front answers "certainly not
// sampled" for almost every free with one load.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sockprobe {
namespace heap {

// The tables' fixed sizes (named here for the native unit tests, test/native/).
constexpr unsigned kLiveBits = 17;  // 131,072 entries, 24 bytes each: 3 MiB
constexpr size_t kLiveCapacity = size_t{1} << kLiveBits;
constexpr size_t kLiveProbes = 128;  // bounds every lookup
constexpr unsigned kStackBits = 16;  // 65,536 distinct stacks
constexpr size_t kStackCapacity = size_t{1} << kStackBits;
constexpr size_t kStackProbes = 64;
constexpr size_t kFrameCapacity = size_t{1} << 21;  // 2 Mi frames (16 MiB address space, bump-allocated)

// Maps the table, the filter and the stack store (about 5 MiB of address space, resident
// only as used). False when mmap fails; idempotent.
bool MapTables();

// Records a sampled block; false (and counted as dropped) when no slot within the probe
// bound is free.
bool InsertLive(uintptr_t address, uint64_t size, uint32_t stack, uint32_t generation);

// Removes `address` if it is sampled; called before the real free, so the address cannot
// have been handed out again. The common answer costs one load.
inline bool MaybeSampled(uintptr_t address);
bool RemoveLive(uintptr_t address);

// Interns a stack (innermost first); 0 when the store is full.
uint32_t InternStack(const uintptr_t* frames, size_t depth);
// Copies stack `id`'s frames; empty for 0 or an unknown id.
std::vector<uintptr_t> StackFrames(uint32_t id);

struct LiveSample {
  uint64_t size;
  uint32_t stack;
};
// The samples of `generation` live now (a racy but consistent-per-entry snapshot).
std::vector<LiveSample> SnapshotLive(uint32_t generation);

uint64_t DroppedSamples();
void ResetDropped();

// --- inline part ---
// 65,536 16-bit counters (128 KiB, small enough to stay in cache on the free path).
extern uint16_t* g_filter;  // nullptr until mapped
constexpr unsigned kFilterBits = 16;
inline uint32_t FilterIndex(uintptr_t address) {
  return static_cast<uint32_t>((address >> 4) * 0x9E3779B97F4A7C15ull >> (64 - kFilterBits));
}
inline bool MaybeSampled(uintptr_t address) {
  const uint16_t* filter = __atomic_load_n(&g_filter, __ATOMIC_ACQUIRE);
  return filter != nullptr && __atomic_load_n(&filter[FilterIndex(address)], __ATOMIC_RELAXED) != 0;
}

}  // namespace heap
}  // namespace sockprobe
