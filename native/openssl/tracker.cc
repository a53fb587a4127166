#include "openssl/tracker.h"

#include <atomic>
#include <mutex>

#include "common/clock.h"
#include "common/malloc_owner.h"
#include "common/pin.h"
#include "common/symbols.h"
#include "openssl/counters.h"
#include "openssl/hooks.h"
#include "openssl/locate.h"

namespace sockprobe {

namespace {

std::mutex g_control;
bool g_located = false;
std::string g_problem;
OpensslMemSite g_site;
bool g_tracking = false;
uint64_t g_generation = 0;       // the session stats() reports; 0 before the first
uint64_t g_last_generation = 0;  // every start attempt takes a fresh one, even a failed one
double g_since_ms = 0;
uint64_t g_refs = 0;  // references the running session's users hold; the last one ends it

// Locates once; serialised by g_control.
void Locate() {
  if (g_located) return;
  g_located = true;
#ifdef SOCKPROBE_SANITIZER_BUILD
  // Sanitizer runs name libc as the owner (see owner.cc); the sanitizer's own allocator
  // answers for its pointers, and it is what the process binds to.
  const auto usable_size = GlobalFunction<UsableSizeFn>("malloc_usable_size");
#else
  const auto usable_size = OwnerFunction<UsableSizeFn>("malloc_usable_size");
#endif
  if (usable_size == nullptr) {
    g_problem = "the allocator serving malloc (" + GetMallocOwner().path + ") exports no malloc_usable_size";
    return;
  }
  if (!LocateOpensslMemSite(&g_site, &g_problem)) return;
  PrepareCounters();  // without it every thread counts through the shared slot: slower, still exact
  PrepareHooks(usable_size);
}

// Swaps one impl pointer from `expected` to `desired` only if it still holds `expected`:
// nothing else in the process is overwritten, whatever raced us.
template <typename Fn>
bool Swap(Fn* where, Fn expected, Fn desired) {
  return __atomic_compare_exchange_n(where, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void UninstallHooks() {
  // malloc first: from then on no new tracked blocks, while free still recognises them.
  Swap(g_site.malloc_impl, &TrackedMalloc, g_site.crypto_malloc);
  Swap(g_site.realloc_impl, &TrackedRealloc, g_site.crypto_realloc);
  Swap(g_site.free_impl, &TrackedFree, g_site.crypto_free);
}

// The pointers are swapped directly rather than through CRYPTO_set_mem_functions, which
// refuses once OpenSSL has allocated unless its private `allow_customize` flag is reopened;
// that flag's representation differs between builds (an int on gcc builds, a byte with the
// opposite meaning on clang-built Node 26), the pointers' does not.
bool InstallHooks(std::string* why) {
  // free first, then realloc, then malloc: each hook is in place before any block it may
  // see exists; free and realloc accept blocks they never allocated.
  const bool swapped = Swap(g_site.free_impl, g_site.crypto_free, &TrackedFree) &&
                       Swap(g_site.realloc_impl, g_site.crypto_realloc, &TrackedRealloc) &&
                       Swap(g_site.malloc_impl, g_site.crypto_malloc, &TrackedMalloc);
  // OpenSSL's own getter must now report the hooks: the write landed where OpenSSL reads.
  CryptoMallocFn m = nullptr;
  CryptoReallocFn r = nullptr;
  CryptoFreeFn f = nullptr;
  g_site.get_mem_functions(&m, &r, &f);
  if (swapped && m == &TrackedMalloc && r == &TrackedRealloc && f == &TrackedFree) return true;
  UninstallHooks();
  *why = swapped ? "CRYPTO_get_mem_functions does not report the hooks just installed at the located addresses"
                 : "OpenSSL's memory functions changed while the hooks were being installed";
  return false;
}

}  // namespace

std::string TrackingProblem() {
  std::lock_guard<std::mutex> lock(g_control);
  Locate();
  return g_problem;
}

bool AcquireTracking(uint64_t* session, const char** code, std::string* why) {
  std::lock_guard<std::mutex> lock(g_control);
  if (g_tracking) {
    ++g_refs;
    *session = g_generation;
    return true;
  }
  Locate();
  if (!g_problem.empty()) {
    *code = "ERR_UNSUPPORTED";
    *why = "OpenSSL allocation tracking is not available: " + g_problem;
    return false;
  }
  CryptoMallocFn m = nullptr;
  CryptoReallocFn r = nullptr;
  CryptoFreeFn f = nullptr;
  g_site.get_mem_functions(&m, &r, &f);
  if (m != g_site.crypto_malloc || r != g_site.crypto_realloc || f != g_site.crypto_free) {
    *code = "ERR_OPENSSL_SELF_CHECK";
    *why = "OpenSSL's memory functions were replaced by something else in this process; refusing to replace them again";
    return false;
  }
  if (!PinOwnCode()) {
    *code = "ERR_UNSUPPORTED";
    *why =
        "OpenSSL allocation tracking is not available: the dynamic loader refused to keep sockprobe's code loaded for "
        "the life of the process (RTLD_NODELETE), which hooks into it need";
    return false;
  }
  const uint64_t generation = ++g_last_generation;
  ResetSession(generation);
  SetCountingGeneration(generation);
  if (!InstallHooks(why)) {
    SetCountingGeneration(0);
    *code = "ERR_OPENSSL_SELF_CHECK";
    return false;
  }
  g_generation = generation;
  g_since_ms = EpochMillis();
  g_tracking = true;
  g_refs = 1;
  *session = generation;
  return true;
}

void ReleaseTracking(uint64_t session) {
  std::lock_guard<std::mutex> lock(g_control);
  if (!g_tracking || session != g_generation || g_refs == 0) return;
  if (--g_refs > 0) return;
  // Counting stops first, so the figures freeze at this moment; calls already inside a hook
  // then act as plain malloc/realloc/free, and the hooks are swapped back.
  SetCountingGeneration(0);
  UninstallHooks();
  g_tracking = false;
}

TrackerStats ReadTrackerStats() {
  std::lock_guard<std::mutex> lock(g_control);
  TrackerStats stats;
  stats.tracking = g_tracking;
  stats.started = g_generation != 0;
  if (!stats.started) return stats;
  const CounterTotals totals = SumSession(g_generation);
  stats.live_bytes = static_cast<int64_t>(totals.alloc_bytes - totals.freed_bytes);
  stats.peak_bytes = totals.peak_bytes;
  stats.allocations = totals.allocations;
  stats.frees = totals.frees;
  stats.reallocs = totals.reallocs;
  stats.since_ms = g_since_ms;
  stats.session = g_generation;
  stats.users = g_tracking ? g_refs : 0;
  return stats;
}

}  // namespace sockprobe
