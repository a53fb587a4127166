// Clock reads shared by every concern: nanoseconds of one POSIX clock, milliseconds since the
// epoch for figures JS compares with Date.now().
#pragma once
#include <time.h>

#include <cstdint>

namespace sockprobe {

inline uint64_t ClockNanos(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t MonotonicNanos() { return ClockNanos(CLOCK_MONOTONIC); }

inline double EpochMillis() { return static_cast<double>(ClockNanos(CLOCK_REALTIME)) / 1e6; }

}  // namespace sockprobe
