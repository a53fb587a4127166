// The few globals the hooks read: whether a session samples, its mean interval and its
// generation (the live table keeps each sample's generation, so a new session starts empty
// without touching entries other threads may be reading).
#pragma once
#include <atomic>
#include <cstdint>

namespace sockprobe {
namespace heap {

extern std::atomic<bool> g_sampling;
extern std::atomic<uint64_t> g_mean_bytes;
extern std::atomic<uint32_t> g_generation;

}  // namespace heap
}  // namespace sockprobe
