// The replacements patched into GOT slots. Each calls the real implementation the slot
// held (glibc, or a preloaded jemalloc/tcmalloc/mimalloc), then counts bytes toward the
// next sample; every free first drops the block from the live table if it was sampled.
// They stay mapped and correct for the life of the process: a thread may still be inside
// one, or hold its address, long after stop() restored the slots.
#include <cstddef>
#include <cstdint>

#include "heap/functions.h"
#include "heap/live_table.h"
#include "heap/sampler.h"

namespace sockprobe {
namespace heap {

namespace {

void* g_real[kFnCount];
uintptr_t g_rtld_start = 0;
uintptr_t g_rtld_size = 0;

#define HOOK_FP reinterpret_cast<uintptr_t>(__builtin_frame_address(0))
#define HOOK __attribute__((noinline, used))

template <typename F>
inline F RealAs(int fn) {
  return reinterpret_cast<F>(__atomic_load_n(&g_real[fn], __ATOMIC_ACQUIRE));
}

// The dynamic linker allocates through the executable's canonical malloc PLT entry too,
// among other times while it sets up this module's thread-local block for a thread: those
// calls must not touch our thread-local state (that would recurse), and are not the
// application's heap.
inline bool FromDynamicLinker(uintptr_t ret) {
  return ret - __atomic_load_n(&g_rtld_start, __ATOMIC_RELAXED) < __atomic_load_n(&g_rtld_size, __ATOMIC_RELAXED);
}

inline void AfterAlloc(void* address, size_t size, uintptr_t fp) {
  if (address == nullptr || FromDynamicLinker(reinterpret_cast<const uintptr_t*>(fp)[1])) return;
  ThreadState& s = Self();
  if (Nested(s, fp)) return;
  if (CountBytes(s, size)) RecordSample(s, address, size, fp);
}

inline void BeforeFree(void* address) {
  const auto key = reinterpret_cast<uintptr_t>(address);
  if (key != 0 && MaybeSampled(key)) RemoveLive(key);
}

inline size_t Product(size_t n, size_t size) {
  size_t total = 0;
  return __builtin_mul_overflow(n, size, &total) ? 0 : total;
}

using MallocFn = void* (*)(size_t);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);
using ReallocarrayFn = void* (*)(void*, size_t, size_t);
using PosixMemalignFn = int (*)(void**, size_t, size_t);
using AlignedFn = void* (*)(size_t, size_t);
using FreeFn = void (*)(void*);
using NewNothrowFn = void* (*)(size_t, const void*);
using NewAlignedNothrowFn = void* (*)(size_t, size_t, const void*);
using DeleteSizedFn = void (*)(void*, size_t);
using DeleteNothrowFn = void (*)(void*, const void*);
using DeleteSizedAlignedFn = void (*)(void*, size_t, size_t);
using DeleteAlignedNothrowFn = void (*)(void*, size_t, const void*);

HOOK void* HookMalloc(size_t size) {
  void* p = RealAs<MallocFn>(kMalloc)(size);
  AfterAlloc(p, size, HOOK_FP);
  return p;
}
HOOK void* HookCalloc(size_t n, size_t size) {
  void* p = RealAs<CallocFn>(kCalloc)(n, size);
  AfterAlloc(p, Product(n, size), HOOK_FP);
  return p;
}
// A realloc is a free of the old block and an allocation of the new one (as heapprofd).
HOOK void* HookRealloc(void* old, size_t size) {
  BeforeFree(old);
  void* p = RealAs<ReallocFn>(kRealloc)(old, size);
  AfterAlloc(p, size, HOOK_FP);
  return p;
}
HOOK void* HookReallocarray(void* old, size_t n, size_t size) {
  BeforeFree(old);
  void* p = RealAs<ReallocarrayFn>(kReallocarray)(old, n, size);
  AfterAlloc(p, Product(n, size), HOOK_FP);
  return p;
}
HOOK int HookPosixMemalign(void** out, size_t alignment, size_t size) {
  const int result = RealAs<PosixMemalignFn>(kPosixMemalign)(out, alignment, size);
  if (result == 0 && out != nullptr) AfterAlloc(*out, size, HOOK_FP);
  return result;
}
HOOK void* HookAlignedAlloc(size_t alignment, size_t size) {
  void* p = RealAs<AlignedFn>(kAlignedAlloc)(alignment, size);
  AfterAlloc(p, size, HOOK_FP);
  return p;
}
HOOK void* HookMemalign(size_t alignment, size_t size) {
  void* p = RealAs<AlignedFn>(kMemalign)(alignment, size);
  AfterAlloc(p, size, HOOK_FP);
  return p;
}
HOOK void* HookValloc(size_t size) {
  void* p = RealAs<MallocFn>(kValloc)(size);
  AfterAlloc(p, size, HOOK_FP);
  return p;
}
HOOK void* HookPvalloc(size_t size) {
  void* p = RealAs<MallocFn>(kPvalloc)(size);
  AfterAlloc(p, size, HOOK_FP);
  return p;
}

// operator new may call malloc through the executable's PLT (libstdc++ does): the guard
// keeps that inner call from counting the same bytes twice. An exception thrown by the
// real operator new unwinds past the guard; Nested() clears it at the next hook above it.
#define NEW_HOOK(NAME, FN, PARAMS, ARGS, SIZE)                                                    \
  HOOK void* NAME PARAMS {                                                                        \
    const uintptr_t fp = HOOK_FP;                                                                 \
    using Fn = void*(*)PARAMS;                                                                    \
    if (FromDynamicLinker(reinterpret_cast<const uintptr_t*>(fp)[1])) return RealAs<Fn>(FN) ARGS; \
    ThreadState& s = Self();                                                                      \
    if (Nested(s, fp)) return RealAs<Fn>(FN) ARGS;                                                \
    s.guard_fp = fp;                                                                              \
    void* p = RealAs<Fn>(FN) ARGS;                                                                \
    s.guard_fp = 0;                                                                               \
    if (p != nullptr && CountBytes(s, SIZE)) RecordSample(s, p, SIZE, fp);                        \
    return p;                                                                                     \
  }

NEW_HOOK(HookNew, kNew, (size_t size), (size), size)
NEW_HOOK(HookNewArray, kNewArray, (size_t size), (size), size)
NEW_HOOK(HookNewNothrow, kNewNothrow, (size_t size, const void* tag), (size, tag), size)
NEW_HOOK(HookNewArrayNothrow, kNewArrayNothrow, (size_t size, const void* tag), (size, tag), size)
NEW_HOOK(HookNewAligned, kNewAligned, (size_t size, size_t alignment), (size, alignment), size)
NEW_HOOK(HookNewArrayAligned, kNewArrayAligned, (size_t size, size_t alignment), (size, alignment), size)
NEW_HOOK(HookNewAlignedNothrow, kNewAlignedNothrow, (size_t size, size_t alignment, const void* tag),
         (size, alignment, tag), size)
NEW_HOOK(HookNewArrayAlignedNothrow, kNewArrayAlignedNothrow, (size_t size, size_t alignment, const void* tag),
         (size, alignment, tag), size)

#define FREE_HOOK(NAME, FN, PARAMS, ARGS) \
  HOOK void NAME PARAMS {                 \
    BeforeFree(p);                        \
    using Fn = void(*) PARAMS;            \
    RealAs<Fn>(FN) ARGS;                  \
  }

FREE_HOOK(HookFree, kFree, (void* p), (p))
FREE_HOOK(HookDelete, kDelete, (void* p), (p))
FREE_HOOK(HookDeleteArray, kDeleteArray, (void* p), (p))
FREE_HOOK(HookDeleteSized, kDeleteSized, (void* p, size_t size), (p, size))
FREE_HOOK(HookDeleteArraySized, kDeleteArraySized, (void* p, size_t size), (p, size))
FREE_HOOK(HookDeleteNothrow, kDeleteNothrow, (void* p, const void* tag), (p, tag))
FREE_HOOK(HookDeleteArrayNothrow, kDeleteArrayNothrow, (void* p, const void* tag), (p, tag))
FREE_HOOK(HookDeleteAligned, kDeleteAligned, (void* p, size_t alignment), (p, alignment))
FREE_HOOK(HookDeleteArrayAligned, kDeleteArrayAligned, (void* p, size_t alignment), (p, alignment))
FREE_HOOK(HookDeleteSizedAligned, kDeleteSizedAligned, (void* p, size_t size, size_t alignment), (p, size, alignment))
FREE_HOOK(HookDeleteArraySizedAligned, kDeleteArraySizedAligned, (void* p, size_t size, size_t alignment),
          (p, size, alignment))
FREE_HOOK(HookDeleteAlignedNothrow, kDeleteAlignedNothrow, (void* p, size_t alignment, const void* tag),
          (p, alignment, tag))
FREE_HOOK(HookDeleteArrayAlignedNothrow, kDeleteArrayAlignedNothrow, (void* p, size_t alignment, const void* tag),
          (p, alignment, tag))

#define ENTRY(NAME, HOOKFN) \
  FnInfo { NAME, reinterpret_cast<void*>(&HOOKFN) }

const FnInfo kFunctions[kFnCount] = {
    ENTRY("malloc", HookMalloc),
    ENTRY("calloc", HookCalloc),
    ENTRY("realloc", HookRealloc),
    ENTRY("reallocarray", HookReallocarray),
    ENTRY("posix_memalign", HookPosixMemalign),
    ENTRY("aligned_alloc", HookAlignedAlloc),
    ENTRY("memalign", HookMemalign),
    ENTRY("valloc", HookValloc),
    ENTRY("pvalloc", HookPvalloc),
    ENTRY("_Znwm", HookNew),
    ENTRY("_Znam", HookNewArray),
    ENTRY("_ZnwmRKSt9nothrow_t", HookNewNothrow),
    ENTRY("_ZnamRKSt9nothrow_t", HookNewArrayNothrow),
    ENTRY("_ZnwmSt11align_val_t", HookNewAligned),
    ENTRY("_ZnamSt11align_val_t", HookNewArrayAligned),
    ENTRY("_ZnwmSt11align_val_tRKSt9nothrow_t", HookNewAlignedNothrow),
    ENTRY("_ZnamSt11align_val_tRKSt9nothrow_t", HookNewArrayAlignedNothrow),
    ENTRY("free", HookFree),
    ENTRY("_ZdlPv", HookDelete),
    ENTRY("_ZdaPv", HookDeleteArray),
    ENTRY("_ZdlPvm", HookDeleteSized),
    ENTRY("_ZdaPvm", HookDeleteArraySized),
    ENTRY("_ZdlPvRKSt9nothrow_t", HookDeleteNothrow),
    ENTRY("_ZdaPvRKSt9nothrow_t", HookDeleteArrayNothrow),
    ENTRY("_ZdlPvSt11align_val_t", HookDeleteAligned),
    ENTRY("_ZdaPvSt11align_val_t", HookDeleteArrayAligned),
    ENTRY("_ZdlPvmSt11align_val_t", HookDeleteSizedAligned),
    ENTRY("_ZdaPvmSt11align_val_t", HookDeleteArraySizedAligned),
    ENTRY("_ZdlPvSt11align_val_tRKSt9nothrow_t", HookDeleteAlignedNothrow),
    ENTRY("_ZdaPvSt11align_val_tRKSt9nothrow_t", HookDeleteArrayAlignedNothrow),
};

}  // namespace

const FnInfo& Function(int fn) { return kFunctions[fn]; }

void SetReal(int fn, void* real) {
  void* expected = nullptr;
  __atomic_compare_exchange_n(&g_real[fn], &expected, real, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void SetDynamicLinkerRange(uintptr_t start, uintptr_t end) {
  __atomic_store_n(&g_rtld_size, end - start, __ATOMIC_RELAXED);
  __atomic_store_n(&g_rtld_start, start, __ATOMIC_RELAXED);
}

void* Real(int fn) { return __atomic_load_n(&g_real[fn], __ATOMIC_ACQUIRE); }

}  // namespace heap
}  // namespace sockprobe
