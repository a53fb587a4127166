// Giving free memory back to the OS with whichever allocator serves malloc.
#pragma once
#include <cstdint>
#include <string>

namespace sockprobe {

struct ReleaseOutcome {
  bool supported = false;
  int flag = -1;           // malloc_trim's return (1 released something, 0 nothing); -1 elsewhere
  uint64_t duration_ns = 0;
  uint64_t thread_cpu_ns = 0;
};

// `kind` is one of glibc, jemalloc, tcmalloc, mimalloc.
ReleaseOutcome ReleaseFreeMemory(const std::string& kind);

}  // namespace sockprobe
