#include "heap/sampler.h"

#include <pthread.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <atomic>
#include <cmath>

#include "heap/live_table.h"
#include "heap/session_state.h"

namespace sockprobe {
namespace heap {

__thread ThreadState t_heap;

std::atomic<bool> g_sampling{false};
std::atomic<uint64_t> g_mean_bytes{0};
std::atomic<uint32_t> g_generation{0};

namespace {

std::atomic<uintptr_t> g_main_lo{0};
std::atomic<uintptr_t> g_main_hi{0};
std::atomic<uint64_t> g_seed_counter{0};

constexpr uint64_t kIdleMean = 512 * 1024;

// A seed that differs per thread and per run; any cycle or tick counter readable at user level.
uint64_t Ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  uint64_t ticks;
  asm volatile("mrs %0, cntvct_el0" : "=r"(ticks));
  return ticks;
#else
  return 0;
#endif
}

// A return address as code sees it. AArch64 code built with pac-ret (-mbranch-protection)
// keeps a signed link register in its frame record; XPACLRI (a hint: a no-op on cores without
// pointer authentication) clears the signature. x86-64 return addresses are plain.
inline uintptr_t CodeAddress(uintptr_t ret) {
#if defined(__aarch64__)
  register uintptr_t lr asm("x30") = ret;
  asm("hint #7" : "+r"(lr));  // XPACLRI
  return lr;
#else
  return ret;
#endif
}

uint64_t NextRandom(ThreadState& s) {
  if (s.rng == 0) {
    s.rng = (Ticks() ^ reinterpret_cast<uintptr_t>(&s) ^
             (g_seed_counter.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ull)) |
            1;
  }
  s.rng ^= s.rng >> 12;
  s.rng ^= s.rng << 25;
  s.rng ^= s.rng >> 27;
  return s.rng * 0x2545F4914F6CDD1Dull;
}

// An exponential interval of mean `mean` bytes (at least 1).
int64_t Draw(ThreadState& s, uint64_t mean) {
  const double u = (static_cast<double>(NextRandom(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0);  // (0, 1]
  const double interval = -std::log(u) * static_cast<double>(mean);
  if (!(interval >= 1.0)) return 1;
  return interval > 1e15 ? static_cast<int64_t>(1e15) : static_cast<int64_t>(interval);
}

// This thread's stack, once: the main thread's from /proc/self/maps (pthread would read the
// file here, inside an allocation), others' from their pthread attributes.
void FindStack(ThreadState& s, uintptr_t sp) {
  uintptr_t lo = g_main_lo.load(std::memory_order_relaxed);
  uintptr_t hi = g_main_hi.load(std::memory_order_relaxed);
  if (!(sp >= lo && sp < hi)) {
    lo = hi = 0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* address = nullptr;
      size_t size = 0;
      if (pthread_attr_getstack(&attr, &address, &size) == 0) {
        lo = reinterpret_cast<uintptr_t>(address);
        hi = lo + size;
      }
      pthread_attr_destroy(&attr);
    }
  }
  if (!(sp >= lo && sp < hi)) lo = hi = 1;
  s.stack_lo = lo;
  s.stack_hi = hi;
}

// Return addresses up the frame-pointer chain, starting with where the hook returns. The
// frame record is the same pair on both architectures: the caller's frame pointer (rbp or
// x29) at fp, the return address (pushed by call, or x30 stored by the prologue) above it. Every
// read is between the current stack pointer and the top of this thread's stack, which is
// mapped: a frame that leaves that range, goes down, or is misaligned ends the walk.
size_t Walk(uintptr_t fp, uintptr_t sp, uintptr_t hi, uintptr_t* out) {
  size_t depth = 0;
  while (depth < kMaxDepth) {
    if (fp < sp || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)) != 0) break;
    const auto* frame = reinterpret_cast<const uintptr_t*>(fp);
    const uintptr_t ret = CodeAddress(frame[1]);
    const uintptr_t next = frame[0];
    if (ret < 4096) break;
    out[depth++] = ret;
    if (next <= fp) break;
    fp = next;
  }
  return depth;
}

}  // namespace

void SetMainStack(uintptr_t lo, uintptr_t hi) {
  g_main_lo.store(lo, std::memory_order_relaxed);
  g_main_hi.store(hi, std::memory_order_relaxed);
}

bool Crossed(ThreadState& s) {
  const uint64_t mean = g_mean_bytes.load(std::memory_order_relaxed);
  if (!g_sampling.load(std::memory_order_relaxed) || mean == 0) {
    s.countdown = Draw(s, mean != 0 ? mean : kIdleMean);
    return false;
  }
  if (s.mean_seen != mean) {
    // An interval drawn for another mean says nothing about this one: start a fresh one.
    s.mean_seen = mean;
    s.countdown = Draw(s, mean);
    return false;
  }
  s.countdown = Draw(s, mean);
  return true;
}

void RecordSample(ThreadState& s, void* address, size_t size, uintptr_t hook_fp) {
  const uintptr_t saved_guard = s.guard_fp;
  s.guard_fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 1;  // everything below is ours
  const uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (s.stack_hi == 0) FindStack(s, sp);
  uintptr_t frames[kMaxDepth];
  size_t depth = 0;
  if (sp >= s.stack_lo && sp < s.stack_hi) {
    depth = Walk(hook_fp, sp, s.stack_hi, frames);
  }
  if (depth == 0) {
    frames[0] =
        CodeAddress(reinterpret_cast<const uintptr_t*>(hook_fp)[1]);  // the hook's own return address is on its frame
    depth = 1;
  }
  const uint32_t stack = InternStack(frames, depth);
  InsertLive(reinterpret_cast<uintptr_t>(address), size, stack, g_generation.load(std::memory_order_relaxed));
  s.guard_fp = saved_guard;
}

}  // namespace heap
}  // namespace sockprobe
