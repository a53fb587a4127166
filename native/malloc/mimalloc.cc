// mimalloc (v1/v2) through mi_process_info, mi_collect and mi_stats_print_out.
#include <cstdio>

#include "common/malloc_owner.h"
#include "malloc/allocators.h"

namespace sockprobe {

bool MimallocStats(NamedSizes* out) {
  using ProcessInfo = void (*)(size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*, size_t*);
  static const auto fn = OwnerFunction<ProcessInfo>("mi_process_info");
  if (fn == nullptr) return false;
  size_t elapsed = 0, user = 0, system = 0, rss = 0, peak_rss = 0, commit = 0, peak_commit = 0, faults = 0;
  fn(&elapsed, &user, &system, &rss, &peak_rss, &commit, &peak_commit, &faults);
  out->emplace_back("elapsed_msecs", elapsed);
  out->emplace_back("user_msecs", user);
  out->emplace_back("system_msecs", system);
  out->emplace_back("current_rss", rss);
  out->emplace_back("peak_rss", peak_rss);
  out->emplace_back("current_commit", commit);
  out->emplace_back("peak_commit", peak_commit);
  out->emplace_back("page_faults", faults);
  return true;
}

bool MimallocCollect() {
  using Collect = void (*)(bool);
  static const auto fn = OwnerFunction<Collect>("mi_collect");
  if (fn == nullptr) return false;
  fn(true);
  return true;
}

int MimallocVersion() {
  using Version = int (*)();
  static const auto fn = OwnerFunction<Version>("mi_version");
  return fn == nullptr ? -1 : fn();
}

bool MimallocStatsText(std::string* out) {
  using Output = void (*)(const char*, void*);
  using PrintOut = void (*)(Output, void*);
  static const auto fn = OwnerFunction<PrintOut>("mi_stats_print_out");
  if (fn == nullptr) return false;
  fn([](const char* text, void* arg) { static_cast<std::string*>(arg)->append(text); }, out);
  return true;
}

}  // namespace sockprobe
