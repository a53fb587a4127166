// The allocator entry points the heap profiler intercepts, by the names the dynamic linker
// binds (C names and the Itanium-mangled operator new/delete variants).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sockprobe {
namespace heap {

enum Fn : int {
  kMalloc,
  kCalloc,
  kRealloc,
  kReallocarray,
  kPosixMemalign,
  kAlignedAlloc,
  kMemalign,
  kValloc,
  kPvalloc,
  kNew,
  kNewArray,
  kNewNothrow,
  kNewArrayNothrow,
  kNewAligned,
  kNewArrayAligned,
  kNewAlignedNothrow,
  kNewArrayAlignedNothrow,
  kFree,
  kDelete,
  kDeleteArray,
  kDeleteSized,
  kDeleteArraySized,
  kDeleteNothrow,
  kDeleteArrayNothrow,
  kDeleteAligned,
  kDeleteArrayAligned,
  kDeleteSizedAligned,
  kDeleteArraySizedAligned,
  kDeleteAlignedNothrow,
  kDeleteArrayAlignedNothrow,
  kFnCount
};

struct FnInfo {
  const char* name;
  void* wrapper;  // our replacement, with the same signature
};

// Indexed by Fn. Wrappers live in wrappers.cc and stay mapped for the life of the process.
const FnInfo& Function(int fn);

// The real implementation each wrapper calls (what the slots held before we patched them),
// set before any slot is patched and never changed afterwards (release/acquire on first use).
void SetReal(int fn, void* real);
void* Real(int fn);

// The dynamic linker's code: allocations it makes pass straight through.
void SetDynamicLinkerRange(uintptr_t start, uintptr_t end);

}  // namespace heap
}  // namespace sockprobe
