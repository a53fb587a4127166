// Finding and rewriting the GOT slots through which loaded objects call the allocator.
//
// A slot is written only when two independent sources agree: the object's own dynamic
// relocations say the slot (R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT, or a data pointer
// R_X86_64_64 with no addend; on AArch64 R_AARCH64_JUMP_SLOT, R_AARCH64_GLOB_DAT, R_AARCH64_ABS64) is bound to that
// symbol, and the slot's current value equals the real definition ResolveReals() found by dlsym/dladdr1. Writes are
// compare-and-swap of exactly that value; a page that RELRO made read-only is made writable only for the write, and its
// protection restored.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "heap/maps.h"
#include "heap/objects.h"

namespace sockprobe {
namespace heap {

struct PatchCounts {
  size_t patched = 0;       // slots rewritten by this call
  size_t malloc_slots = 0;  // of all patched slots (this call and earlier), those of malloc
  size_t elsewhere = 0;     // slots for our symbols holding something else (a canonical PLT stub, a private allocator)
  size_t write_failed = 0;
  size_t lazy = 0;  // of those confirmed by this call, slots not yet bound (holding their own lazy PLT stub)     //
                    // confirmed slots we could not write (mprotect refused, value changed meanwhile)
  // The executable's own slots holding neither the real definition, our hook, nor an address
  // inside the executable (a lazily bound slot's PLT stub): another tool, or another copy of
  // sockprobe, hooks the process. Every copy patches the executable first, so this is what
  // a second profiler sees.
  size_t executable_foreign = 0;
  // What one slot holding neither the real definition nor our hook, nor an address inside
  // its own object, points at (the executable's first, if any): names who holds the slots.
  uintptr_t foreign = 0;
};

// A slot an object's relocations bind to one of our functions, with the protection
// /proc/self/maps gave its page when the object was first scanned (-1: not mapped readable).
struct Slot {
  uintptr_t* address;
  int fn;  // heap::Fn
  int prot;
  // Index in the object's DT_JMPREL table for a jump slot (what its lazy stub pushes); -1 else.
  long jmprel_index;
};

// The slots `object`'s own dynamic relocations bind to our functions, read from its loaded
// dynamic section (DT_JMPREL's first, then DT_RELA's); none when `maps` is empty or the
// section is unusable. Reads memory only inside the object's PT_LOAD segments.
std::vector<Slot> FindSlots(const LoadedObject& object, const Maps& maps);

// Rewrites every confirmed slot not yet rewritten, in every loaded object except the
// dynamic linker, the vDSO and a preloaded allocator. `dry_run` only counts. Callers
// serialise.
PatchCounts PatchLoadedObjects(bool dry_run);

// Puts back what each rewritten slot held, where it still holds our hook and its object is
// still loaded. Returns the number restored; `left` gets the slots that had changed.
size_t RestoreSlots(size_t* left);

size_t PatchedSlotCount();

}  // namespace heap
}  // namespace sockprobe
