// gperftools tcmalloc through its C shim (gperftools/malloc_extension_c.h).
#include "common/malloc_owner.h"
#include "malloc/allocators.h"

namespace sockprobe {

bool TcmallocStats(NamedSizes* out) {
  using GetProperty = int (*)(const char*, size_t*);
  static const auto fn = OwnerFunction<GetProperty>("MallocExtension_GetNumericProperty");
  if (fn == nullptr) return false;
  static const char* const kProperties[] = {
      "generic.current_allocated_bytes",    "generic.heap_size",
      "generic.total_physical_bytes",       "tcmalloc.pageheap_free_bytes",
      "tcmalloc.pageheap_unmapped_bytes",   "tcmalloc.current_total_thread_cache_bytes",
      "tcmalloc.central_cache_free_bytes",  "tcmalloc.transfer_cache_free_bytes",
      "tcmalloc.thread_cache_free_bytes",   "tcmalloc.max_total_thread_cache_bytes",
      "tcmalloc.aggressive_memory_decommit"};
  for (const char* name : kProperties) {
    size_t value = 0;
    if (fn(name, &value) != 0) out->emplace_back(name, value);  // returns 1 on success
  }
  return true;
}

bool TcmallocRelease() {
  using Release = void (*)();
  static const auto fn = OwnerFunction<Release>("MallocExtension_ReleaseFreeMemory");
  if (fn == nullptr) return false;
  fn();
  return true;
}

bool TcmallocReleaseBytes(size_t bytes) {
  using Release = void (*)(size_t);
  static const auto fn = OwnerFunction<Release>("MallocExtension_ReleaseToSystem");
  if (fn == nullptr) return false;
  fn(bytes);
  return true;
}

bool TcmallocProperty(const char* name, size_t* out) {
  using GetProperty = int (*)(const char*, size_t*);
  static const auto fn = OwnerFunction<GetProperty>("MallocExtension_GetNumericProperty");
  return fn != nullptr && fn(name, out) != 0;
}

bool TcmallocMarkThreadIdle() {
  using MarkIdle = void (*)();
  static const auto fn = OwnerFunction<MarkIdle>("MallocExtension_MarkThreadIdle");
  if (fn == nullptr) return false;
  fn();
  return true;
}

bool TcmallocThreadCacheBytes(size_t* out) {
  using CacheSize = size_t (*)();
  static const auto fn = reinterpret_cast<CacheSize>(OwnerSymbol("MallocExtension_GetThreadCacheSize"));
  if (fn == nullptr) return false;
  *out = fn();
  return true;
}

const char* TcmallocVersion() {
  using Version = const char* (*)(int*, int*, const char**);
  static const auto fn = OwnerFunction<Version>("tc_version");
  if (fn == nullptr) return nullptr;
  return fn(nullptr, nullptr, nullptr);
}

bool TcmallocStatsText(std::string* out) {
  using GetStats = void (*)(char*, int);
  static const auto fn = OwnerFunction<GetStats>("MallocExtension_GetStats");
  if (fn == nullptr) return false;
  out->assign(16384, '\0');
  fn(&(*out)[0], static_cast<int>(out->size()));
  out->resize(out->find('\0'));
  return true;
}

}  // namespace sockprobe
