// jemalloc 5.x through mallctl, taken from the object that serves malloc.
#include <cstdint>
#include <string>

#include "common/malloc_owner.h"
#include "malloc/allocators.h"

namespace sockprobe {

using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

static Mallctl GetMallctl() {
  static const Mallctl fn = [] {
    const Mallctl plain = OwnerFunction<Mallctl>("mallctl");
    return plain != nullptr ? plain : OwnerFunction<Mallctl>("je_mallctl");  // builds with a symbol prefix
  }();
  return fn;
}

bool JemallocStats(NamedSizes* out) {
  Mallctl mallctl = GetMallctl();
  if (mallctl == nullptr) return false;
  // Stats are cached per epoch; advancing it makes the reads below current.
  uint64_t epoch = 1;
  size_t epoch_size = sizeof(epoch);
  mallctl("epoch", &epoch, &epoch_size, &epoch, epoch_size);
  // stats.allocated counts freed blocks held in thread caches; 4096 (MALLCTL_ARENAS_ALL) gives
  // their bytes over every arena. jemalloc before 5.0 lacks tcache_bytes, before 5.3 the stashed
  // bytes: a name it rejects is left out, and the TS side says the cache was not subtracted.
  static const char* const kSizeStats[] = {"stats.allocated",
                                           "stats.active",
                                           "stats.metadata",
                                           "stats.resident",
                                           "stats.mapped",
                                           "stats.retained",
                                           "opt.narenas",
                                           "arenas.narenas",
                                           "opt.dirty_decay_ms",
                                           "opt.muzzy_decay_ms",
                                           "stats.arenas.4096.tcache_bytes",
                                           "stats.arenas.4096.tcache_stashed_bytes"};
  for (const char* name : kSizeStats) {
    // mallctl insists on the exact width: sizes are size_t, decay times ssize_t, arena
    // counts unsigned. Try the wide read first, then the 32-bit one.
    uint64_t wide = 0;
    size_t size = sizeof(wide);
    if (mallctl(name, &wide, &size, nullptr, 0) == 0) {
      out->emplace_back(name, wide);
      continue;
    }
    uint32_t narrow = 0;
    size = sizeof(narrow);
    if (mallctl(name, &narrow, &size, nullptr, 0) == 0) out->emplace_back(name, narrow);
  }
  return true;
}

bool JemallocPurge() {
  Mallctl mallctl = GetMallctl();
  if (mallctl == nullptr) return false;
  // 4096 is MALLCTL_ARENAS_ALL: purge dirty and muzzy pages of every arena.
  return mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) == 0;
}

bool JemallocArenaCount(unsigned* out) {
  Mallctl mallctl = GetMallctl();
  if (mallctl == nullptr) return false;
  size_t size = sizeof(*out);
  return mallctl("arenas.narenas", out, &size, nullptr, 0) == 0;
}

bool JemallocPurgeArena(unsigned arena) {
  Mallctl mallctl = GetMallctl();
  if (mallctl == nullptr) return false;
  const std::string name = "arena." + std::to_string(arena) + ".purge";
  // An index that names no initialised arena is accepted and purges nothing.
  return mallctl(name.c_str(), nullptr, nullptr, nullptr, 0) == 0;
}

bool JemallocFlushThreadCache() {
  Mallctl mallctl = GetMallctl();
  if (mallctl == nullptr) return false;
  return mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0) == 0;
}

const char* JemallocVersion() {
  Mallctl mallctl = GetMallctl();
  if (mallctl == nullptr) return nullptr;
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0) return nullptr;
  return version;
}

}  // namespace sockprobe
