// Per-thread sampling state and the hot path of every allocation hook.
//
// Sampling is Poisson by bytes (as tcmalloc and heapprofd): each thread counts bytes down
// from an exponentially distributed interval of mean `sampleBytes`; the allocation that
// crosses zero is sampled. The unsampled path is a thread-local subtraction and a compare:
// no lock, no allocation, no syscall.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace sockprobe {
namespace heap {

struct ThreadState {
  int64_t countdown;   // bytes left before the next sample
  uint64_t rng;        // xorshift64* state, 0 until seeded
  uint64_t mean_seen;  // the sampleBytes the countdown was drawn with
  uintptr_t guard_fp;  // frame of a hook of this thread that is inside the real allocator or recording; 0 none
  uintptr_t stack_lo;  // this thread's stack, found on its first sample; lo == hi == 1: not walkable
  uintptr_t stack_hi;
};

// POD, zero-initialised per thread: no constructor or destructor runs, so it is usable in
// any allocation at any point of a thread's life.
extern __thread ThreadState t_heap;

// This thread's state, its address computed once per hook: GCC otherwise recomputes a
// global-dynamic TLS address (a __tls_get_addr call) at each use.
inline ThreadState& Self() {
  ThreadState* s = &t_heap;
  asm("" : "+r"(s));
  return *s;
}

// A hook running below another hook of this thread (operator new calling malloc) neither
// counts nor samples. A guard whose frame is no longer on the stack (an exception unwound
// past the hook that set it) is cleared here.
inline bool Nested(ThreadState& s, uintptr_t fp) {
  if (s.guard_fp == 0) return false;
  if (fp < s.guard_fp) return true;
  s.guard_fp = 0;
  return false;
}

// Out of line: the crossing is rare. True when this allocation is a sample.
bool Crossed(ThreadState& s);

// Counts `size` bytes; true when the allocation is to be recorded.
inline bool CountBytes(ThreadState& s, size_t size) {
  constexpr size_t kCap = size_t{1} << 50;
  s.countdown -= static_cast<int64_t>(size < kCap ? size : kCap);
  return s.countdown <= 0 && Crossed(s);
}

// How many blocks one sample of a `size`-byte block stands for, sampling every `mean` bytes:
// such a block is sampled with probability 1 − exp(−size/mean).
inline double SampleWeight(double size, double mean) { return size > 0 ? 1.0 / -std::expm1(-size / mean) : 1.0; }

// Walks the frame-pointer chain from the hook's frame `hook_fp` and records `address` in
// the live table. Sets the guard while it runs (finding the stack bounds may allocate).
void RecordSample(ThreadState& s, void* address, size_t size, uintptr_t hook_fp);

// The main thread's stack, from /proc/self/maps at start(); other threads ask pthread.
void SetMainStack(uintptr_t lo, uintptr_t hi);

constexpr size_t kMaxDepth = 64;

}  // namespace heap
}  // namespace sockprobe
