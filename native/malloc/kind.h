// The allocators sockprobe speaks to, as JS names them ("glibc", "jemalloc", …).
#pragma once
#include <string>

namespace sockprobe {

enum class AllocatorKind { kGlibc, kJemalloc, kTcmalloc, kMimalloc };

inline bool ParseAllocatorKind(const std::string& name, AllocatorKind* out) {
  if (name == "glibc")
    *out = AllocatorKind::kGlibc;
  else if (name == "jemalloc")
    *out = AllocatorKind::kJemalloc;
  else if (name == "tcmalloc")
    *out = AllocatorKind::kTcmalloc;
  else if (name == "mimalloc")
    *out = AllocatorKind::kMimalloc;
  else
    return false;
  return true;
}

inline const char* AllocatorName(AllocatorKind kind) {
  switch (kind) {
    case AllocatorKind::kGlibc: return "glibc";
    case AllocatorKind::kJemalloc: return "jemalloc";
    case AllocatorKind::kTcmalloc: return "tcmalloc";
    case AllocatorKind::kMimalloc: return "mimalloc";
  }
  return "unknown";
}

}  // namespace sockprobe
