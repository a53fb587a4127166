#include "heap/got.h"

#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "heap/functions.h"
#include "heap/maps.h"
#include "heap/objects.h"

namespace sockprobe {
namespace heap {

namespace {

#if defined(__aarch64__)
constexpr unsigned kJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr unsigned kGlobDat = R_AARCH64_GLOB_DAT;
constexpr unsigned kAbs64 = R_AARCH64_ABS64;
#else
constexpr unsigned kJumpSlot = R_X86_64_JUMP_SLOT;
constexpr unsigned kGlobDat = R_X86_64_GLOB_DAT;
constexpr unsigned kAbs64 = R_X86_64_64;
#endif

struct Patch {
  uintptr_t* slot;
  uintptr_t original;
  uintptr_t hook;
  uintptr_t bias;
  std::string object;
  int fn;
  int prot;
};

// Relocations never change while an object stays loaded: each object (name and load bias)
// is read once, so a start() after the first costs a dl_iterate_phdr and the writes.
struct ScannedObject {
  std::string name;
  uintptr_t bias;
  std::vector<Slot> slots;
  // Per function: whether the object's own scope names the real definition (-1 not asked
  // yet). Asked once: the answer needs dlopen, which waits for any dlopen in progress.
  std::array<int8_t, kFnCount> own_scope_is_real;
};

// Serialised by the caller (the session's mutex).
std::vector<Patch> g_patches;
std::vector<ScannedObject> g_scanned;

struct DynamicInfo {
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  size_t strsz = 0;
  const ElfW(Rela)* rela = nullptr;
  size_t relasz = 0;
  const ElfW(Rela)* jmprel = nullptr;
  size_t pltrelsz = 0;
  bool plt_is_rela = true;
};

// Dynamic-section addresses: glibc rewrites them to run-time addresses in place; an
// object whose section is read-only (the vDSO) keeps link-time ones.
uintptr_t RunTime(const LoadedObject& object, uintptr_t value) {
  return (object.bias != 0 && value < object.bias) ? value + object.bias : value;
}

bool ReadDynamic(const LoadedObject& object, DynamicInfo* out) {
  const ElfW(Phdr)* dynamic = nullptr;
  for (const ElfW(Phdr)& phdr : object.phdrs) {
    if (phdr.p_type == PT_DYNAMIC) dynamic = &phdr;
  }
  if (dynamic == nullptr) return false;
  const uintptr_t address = object.bias + dynamic->p_vaddr;
  if (!object.Contains(address, dynamic->p_memsz)) return false;
  const auto* entries = reinterpret_cast<const ElfW(Dyn)*>(address);
  const size_t count = dynamic->p_memsz / sizeof(ElfW(Dyn));
  size_t relaent = sizeof(ElfW(Rela)), syment = sizeof(ElfW(Sym));
  for (size_t i = 0; i < count && entries[i].d_tag != DT_NULL; ++i) {
    const ElfW(Dyn)& d = entries[i];
    switch (d.d_tag) {
      case DT_SYMTAB: out->symtab = reinterpret_cast<const ElfW(Sym)*>(RunTime(object, d.d_un.d_ptr)); break;
      case DT_STRTAB: out->strtab = reinterpret_cast<const char*>(RunTime(object, d.d_un.d_ptr)); break;
      case DT_STRSZ: out->strsz = d.d_un.d_val; break;
      case DT_SYMENT: syment = d.d_un.d_val; break;
      case DT_RELA: out->rela = reinterpret_cast<const ElfW(Rela)*>(RunTime(object, d.d_un.d_ptr)); break;
      case DT_RELASZ: out->relasz = d.d_un.d_val; break;
      case DT_RELAENT: relaent = d.d_un.d_val; break;
      case DT_JMPREL: out->jmprel = reinterpret_cast<const ElfW(Rela)*>(RunTime(object, d.d_un.d_ptr)); break;
      case DT_PLTRELSZ: out->pltrelsz = d.d_un.d_val; break;
      case DT_PLTREL: out->plt_is_rela = d.d_un.d_val == DT_RELA; break;
      default: break;
    }
  }
  if (relaent != sizeof(ElfW(Rela)) || syment != sizeof(ElfW(Sym)) || !out->plt_is_rela) return false;
  if (out->symtab == nullptr || out->strtab == nullptr || out->strsz == 0) return false;
  if (!object.Contains(reinterpret_cast<uintptr_t>(out->strtab), out->strsz)) return false;
  if (out->rela != nullptr && !object.Contains(reinterpret_cast<uintptr_t>(out->rela), out->relasz))
    out->rela = nullptr;
  if (out->jmprel != nullptr && !object.Contains(reinterpret_cast<uintptr_t>(out->jmprel), out->pltrelsz))
    out->jmprel = nullptr;
  return true;
}

// Which of our functions a symbol name is; -1 for none. Cheap first-character filter: the
// executable has thousands of relocations.
int FunctionNamed(const char* name, size_t max) {
  if (name[0] != '_' && name[0] != 'm' && name[0] != 'c' && name[0] != 'r' && name[0] != 'p' && name[0] != 'a' &&
      name[0] != 'v' && name[0] != 'f')
    return -1;
  const size_t length = strnlen(name, max);
  if (length == max) return -1;
  const std::string_view view(name, length);
  for (int fn = 0; fn < kFnCount; ++fn) {
    if (view == Function(fn).name) return fn;
  }
  return -1;
}

struct Write {
  uintptr_t* slot;
  uintptr_t expected;
  uintptr_t desired;
  int prot;  // the page's protection per /proc/self/maps; -1 unknown
  bool done = false;
};

// Compare-and-swaps each slot, page by page: a read-only page (RELRO) is made writable for
// its slots' writes and then given back exactly its protection. A slot on a page not known
// to be readable is never written.
void WriteSlots(std::vector<Write>* writes) {
  const uintptr_t page_size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto page_of = [&](const Write& w) { return reinterpret_cast<uintptr_t>(w.slot) & ~(page_size - 1); };
  std::sort(writes->begin(), writes->end(), [&](const Write& a, const Write& b) { return a.slot < b.slot; });
  for (size_t i = 0; i < writes->size();) {
    const uintptr_t page = page_of((*writes)[i]);
    const int prot = (*writes)[i].prot;
    size_t j = i;
    while (j < writes->size() && page_of((*writes)[j]) == page) ++j;
    const bool known = prot >= 0 && (prot & PROT_READ) != 0;
    const bool read_only = known && (prot & PROT_WRITE) == 0;
    const bool writable =
        known && (!read_only || mprotect(reinterpret_cast<void*>(page), page_size, prot | PROT_WRITE) == 0);
    for (size_t k = i; writable && k < j; ++k) {
      Write& w = (*writes)[k];
      uintptr_t expected = w.expected;
      w.done = __atomic_compare_exchange_n(w.slot, &expected, w.desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    if (writable && read_only) mprotect(reinterpret_cast<void*>(page), page_size, prot);
    i = j;
  }
}

bool Skipped(const LoadedObject& object) {
  if (object.executable) return false;
  const std::string& name = object.name;
  if (name.empty()) return true;
  if (name.find("linux-vdso") != std::string::npos || name.find("/ld-linux") != std::string::npos ||
      name.rfind("ld-linux", 0) == 0)
    return true;
  // Sanitizer runtimes serve malloc themselves and must keep their own calls.
  if (name.find("libasan") != std::string::npos || name.find("vgpreload") != std::string::npos) return true;
  return !AllocatorObject().empty() && name == AllocatorObject();
}

void CollectSlots(const LoadedObject& object, const DynamicInfo& dynamic, const ElfW(Rela)* relocations, size_t bytes,
                  bool jmprel, const Maps& maps, std::vector<Slot>* slots) {
  if (relocations == nullptr) return;
  const size_t count = bytes / sizeof(ElfW(Rela));
  for (size_t i = 0; i < count; ++i) {
    const ElfW(Rela)& r = relocations[i];
    const unsigned type = ELF64_R_TYPE(r.r_info);
    // An absolute 64-bit relocation with no addend: a function pointer in data (libuv's
    // default allocator table holds malloc/realloc/calloc/free this way in clang-built Node 26).
    if (type != kJumpSlot && type != kGlobDat && !(type == kAbs64 && r.r_addend == 0)) continue;
    const size_t index = ELF64_R_SYM(r.r_info);
    const ElfW(Sym)* symbol = dynamic.symtab + index;
    if (index == 0 || !object.Contains(reinterpret_cast<uintptr_t>(symbol), sizeof *symbol)) continue;
    if (symbol->st_name >= dynamic.strsz) continue;
    const int fn = FunctionNamed(dynamic.strtab + symbol->st_name, dynamic.strsz - symbol->st_name);
    if (fn < 0) continue;
    auto* slot = reinterpret_cast<uintptr_t*>(object.bias + r.r_offset);
    if (!object.Contains(reinterpret_cast<uintptr_t>(slot), sizeof *slot) ||
        (reinterpret_cast<uintptr_t>(slot) & 7) != 0)
      continue;
    const Mapping* mapping = maps.Find(reinterpret_cast<uintptr_t>(slot));
    const long jmprel_index = jmprel && type == kJumpSlot ? static_cast<long>(i) : -1;
    slots->push_back(Slot{slot, fn, mapping != nullptr ? mapping->prot : -1, jmprel_index});
  }
}

ScannedObject& Scanned(const LoadedObject& object, const Maps** maps, Maps* storage) {
  for (ScannedObject& scanned : g_scanned) {
    if (scanned.bias == object.bias && scanned.name == object.name) return scanned;
  }
  if (*maps == nullptr) {
    *storage = Maps::ReadSelf();
    *maps = storage;
  }
  ScannedObject scanned{object.name, object.bias, FindSlots(object, **maps), {}};
  scanned.own_scope_is_real.fill(-1);
  g_scanned.push_back(std::move(scanned));
  return g_scanned.back();
}

// Whether [address, address + bytes) lies in the file-backed part of one of the object's
// readable executable segments: where its PLT is.
bool InCode(const LoadedObject& object, uintptr_t address, size_t bytes) {
  for (const ElfW(Phdr)& phdr : object.phdrs) {
    if (phdr.p_type != PT_LOAD || (phdr.p_flags & (PF_R | PF_X)) != (PF_R | PF_X)) continue;
    const uintptr_t start = object.bias + phdr.p_vaddr;
    if (address >= start && address - start < phdr.p_filesz && bytes <= phdr.p_filesz - (address - start)) return true;
  }
  return false;
}

#if defined(__aarch64__)
uint32_t Instruction(uintptr_t address) {
  uint32_t word;
  memcpy(&word, reinterpret_cast<const void*>(address), sizeof word);
  return word;
}

constexpr uint32_t kBtiC = 0xd503245f;       // bti c
constexpr uint32_t kAutia1716 = 0xd503219f;  // autia1716 (PAC-signed PLTs)
constexpr uint32_t kBrX17 = 0xd61f0220;      // br x17
constexpr uint32_t kStpX16X30 = 0xa9bf7bf0;  // stp x16, x30, [sp, #-16]!

// The GOT address a PLT sequence `adrp x16, page; ldr x17, [x16, #lo]; add x16, x16, #lo;
// [autia1716;] br x17` at `at` (after an optional bti c) loads its target from; 0 when the
// code at `at` is not exactly that sequence with matching offsets.
uintptr_t PltSequenceTarget(const LoadedObject& object, uintptr_t at) {
  if (!InCode(object, at, 6 * 4)) return 0;
  if (Instruction(at) == kBtiC) at += 4;
  const uint32_t adrp = Instruction(at), ldr = Instruction(at + 4), add = Instruction(at + 8);
  uint32_t br = Instruction(at + 12);
  if (br == kAutia1716) br = Instruction(at + 16);
  if ((adrp & 0x9f00001f) != 0x90000010 || (ldr & 0xffc003ff) != 0xf9400211 || (add & 0xffc003ff) != 0x91000210 ||
      br != kBrX17)
    return 0;
  // adrp: immhi (bits 5-23) and immlo (bits 29-30) form a signed 21-bit count of 4 KiB pages.
  int64_t pages = static_cast<int64_t>((((adrp >> 5) & 0x7ffff) << 2) | ((adrp >> 29) & 3));
  if (pages & (int64_t{1} << 20)) pages -= int64_t{1} << 21;
  const uintptr_t page = (at & ~uintptr_t{0xfff}) + static_cast<uintptr_t>(pages * 4096);
  const uintptr_t ldr_offset = ((ldr >> 10) & 0xfff) * 8;  // unsigned offset scaled by 8
  const uintptr_t add_offset = (add >> 10) & 0xfff;        // no shift (bit 22 clear, checked above)
  if (ldr_offset != add_offset) return 0;
  return page + ldr_offset;
}
#endif

// A jump slot not yet called in an object bound lazily (addons: process.dlopen defaults to
// RTLD_LAZY) holds the address of PLT code that sends the call to the resolver; the second
// source for such a slot is that code, read from the object's own executable segment, naming
// exactly this slot.
//   x86-64: the slot holds its own entry's lazy stub, `[endbr64] pushq $index; [bnd] jmp PLT0`,
//   pushing this slot's index in DT_JMPREL.
//   AArch64: every lazy slot holds PLT0 (`[bti c] stp x16, x30, [sp, #-16]!` then an
//   adrp/ldr/add/br x17 sequence), and the resolver learns the slot from x16, set by the
//   slot's own entry `[bti c] adrp x16; ldr x17, [x16, #off]; add x16, x16, #off;
//   [autia1716] br x17`, the index-th after PLT0's 32 bytes (16 bytes each, 24 with BTI or
//   PAC): that entry must address exactly this slot.
// The hook calls the real definition, so the object's own scope must name it too
// (OwnScopeResolvesToReal): an object bringing its own allocator keeps its lazy slots; so,
// under a preloaded allocator, do all (their own scope names libc's).
bool HoldsOwnLazyStub(const LoadedObject& object, ScannedObject& scanned, const Slot& slot, uintptr_t current) {
  if (slot.jmprel_index < 0 || slot.jmprel_index > 0x7fffffff) return false;
#if defined(__aarch64__)
  uintptr_t plt0 = current;
  if (!InCode(object, plt0, 8 * 4)) return false;
  if (Instruction(plt0) == kBtiC) plt0 += 4;
  if (Instruction(plt0) != kStpX16X30 || PltSequenceTarget(object, plt0 + 4) == 0) return false;
  const uintptr_t slot_address = reinterpret_cast<uintptr_t>(slot.address);
  const uintptr_t index = static_cast<uintptr_t>(slot.jmprel_index);
  const bool own_entry = PltSequenceTarget(object, current + 32 + 16 * index) == slot_address ||
                         PltSequenceTarget(object, current + 32 + 24 * index) == slot_address;
  if (!own_entry) return false;
#else
  constexpr size_t kStubBytes = 4 + 5 + 2;
  if (!InCode(object, current, kStubBytes)) return false;
  const auto* code = reinterpret_cast<const unsigned char*>(current);
  static constexpr unsigned char kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
  if (memcmp(code, kEndbr64, sizeof kEndbr64) == 0) code += sizeof kEndbr64;
  if (code[0] != 0x68) return false;  // pushq imm32
  int32_t pushed;
  memcpy(&pushed, code + 1, sizeof pushed);
  if (pushed != slot.jmprel_index) return false;
  code += 5;
  if (code[0] != 0xe9 && !(code[0] == 0xf2 && code[1] == 0xe9)) return false;  // jmp / bnd jmp rel32
#endif
  int8_t& known = scanned.own_scope_is_real[slot.fn];
  if (known < 0) known = OwnScopeResolvesToReal(object, slot.fn) ? 1 : 0;
  return known == 1;
}

}  // namespace

std::vector<Slot> FindSlots(const LoadedObject& object, const Maps& maps) {
  std::vector<Slot> slots;
  DynamicInfo dynamic;
  if (!maps.empty() && ReadDynamic(object, &dynamic)) {
    CollectSlots(object, dynamic, dynamic.jmprel, dynamic.pltrelsz, true, maps, &slots);
    CollectSlots(object, dynamic, dynamic.rela, dynamic.relasz, false, maps, &slots);
  }
  return slots;
}

PatchCounts PatchLoadedObjects(bool dry_run) {
  PatchCounts counts;
  Maps storage;
  const Maps* maps = nullptr;  // read only when an object is seen for the first time
  std::vector<Write> writes;
  std::vector<Patch> pending;
  for (const LoadedObject& object : ListObjects()) {
    if (Skipped(object)) continue;
    ScannedObject& scanned = Scanned(object, &maps, &storage);
    for (const Slot& slot : scanned.slots) {
      const uintptr_t real = reinterpret_cast<uintptr_t>(Real(slot.fn));
      const uintptr_t hook = reinterpret_cast<uintptr_t>(Function(slot.fn).wrapper);
      const uintptr_t current = __atomic_load_n(slot.address, __ATOMIC_ACQUIRE);
      if (current == hook) continue;  // ours from an earlier call
      // The second source: the slot holds exactly the definition dlsym/dladdr1 found, or
      // (not yet called, bound lazily) its own PLT stub that will resolve to it.
      const bool lazy = real != 0 && current != real && HoldsOwnLazyStub(object, scanned, slot, current);
      if (real == 0 || (current != real && !lazy)) {
        ++counts.elsewhere;
        if (object.executable && real != 0 && !object.Contains(current, 1)) ++counts.executable_foreign;
        if (counts.foreign == 0 && real != 0 && !object.Contains(current, 1)) counts.foreign = current;
        continue;
      }
      if (lazy) ++counts.lazy;
      if (dry_run) {
        ++counts.patched;
        if (slot.fn == kMalloc) ++counts.malloc_slots;
        continue;
      }
      writes.push_back(Write{slot.address, current, hook, slot.prot});
      pending.push_back(Patch{slot.address, current, hook, object.bias, object.name, slot.fn, slot.prot});
    }
  }
  if (dry_run) return counts;
  WriteSlots(&writes);
  for (const Write& write : writes) {
    if (!write.done) {
      ++counts.write_failed;
      continue;
    }
    for (const Patch& patch : pending) {
      if (patch.slot == write.slot) g_patches.push_back(patch);
    }
    ++counts.patched;
  }
  for (const Patch& patch : g_patches) {
    if (patch.fn == kMalloc) ++counts.malloc_slots;
  }
  return counts;
}

size_t RestoreSlots(size_t* left) {
  *left = 0;
  if (g_patches.empty()) return 0;
  const std::vector<LoadedObject> objects = ListObjects();
  std::vector<Write> writes;
  for (const Patch& patch : g_patches) {
    bool loaded = false;
    for (const LoadedObject& object : objects) {
      if (object.bias == patch.bias && object.name == patch.object &&
          object.Contains(reinterpret_cast<uintptr_t>(patch.slot), sizeof(uintptr_t))) {
        loaded = true;
        break;
      }
    }
    // An object unloaded since: its slot's memory may belong to something else now.
    if (loaded) writes.push_back(Write{patch.slot, patch.hook, patch.original, patch.prot});
  }
  WriteSlots(&writes);
  size_t restored = 0;
  for (const Write& write : writes) {
    if (write.done)
      ++restored;
    else
      ++*left;
  }
  g_patches.clear();
  return restored;
}

size_t PatchedSlotCount() { return g_patches.size(); }

}  // namespace heap
}  // namespace sockprobe
