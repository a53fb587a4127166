#include "malloc/release.h"

#include <time.h>

#include "malloc/allocators.h"

namespace sockprobe {

static uint64_t Nanos(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

ReleaseOutcome ReleaseFreeMemory(const std::string& kind) {
  ReleaseOutcome outcome;
  const uint64_t wall_start = Nanos(CLOCK_MONOTONIC);
  const uint64_t cpu_start = Nanos(CLOCK_THREAD_CPUTIME_ID);
  if (kind == "glibc") {
    outcome.supported = GlibcTrim(&outcome.flag);
  } else if (kind == "jemalloc") {
    outcome.supported = JemallocPurge();
  } else if (kind == "tcmalloc") {
    outcome.supported = TcmallocRelease();
  } else if (kind == "mimalloc") {
    outcome.supported = MimallocCollect();
  }
  outcome.duration_ns = Nanos(CLOCK_MONOTONIC) - wall_start;
  outcome.thread_cpu_ns = Nanos(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
  return outcome;
}

}  // namespace sockprobe
