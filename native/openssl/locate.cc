#include "openssl/locate.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/elf_symbols.h"
#include "common/loaded_objects.h"
#include "common/symbols.h"

namespace sockprobe {

namespace {

// OpenSSL's source file that holds the three pointers (crypto/mem.c in 1.1 and 3.x).
constexpr const char* kMemSource = "mem.c";
constexpr const char* kImplNames[3] = {"malloc_impl", "realloc_impl", "free_impl"};

std::string Hex(uintptr_t value) {
  char text[32];
  snprintf(text, sizeof text, "0x%zx", static_cast<size_t>(value));
  return text;
}

std::string ExecutablePath() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string("/proc/self/exe");
}

struct LoadedObject {
  std::string name;  // "" for the main program
  uintptr_t bias = 0;
  bool found = false;
  bool writable = false;  // the segment holding the address is writable data
};

// Which loaded object's segments contain `address`. Walks program headers only: dladdr
// would scan the whole dynamic symbol table (tens of thousands of entries in Node) per call.
// The objects are copied out of dl_iterate_phdr first (no allocation under the loader's lock).
LoadedObject ObjectAt(uintptr_t address) {
  LoadedObject object;
  for (const ObjectCopy& copy : CopyLoadedObjects()) {
    for (const ElfW(Phdr)& segment : copy.phdrs) {
      if (segment.p_type != PT_LOAD) continue;
      const uintptr_t start = copy.bias + segment.p_vaddr;
      if (address >= start && address < start + segment.p_memsz) {
        object.name = copy.name;
        object.bias = copy.bias;
        object.found = true;
        object.writable = (segment.p_flags & PF_W) != 0;
        return object;
      }
    }
  }
  return object;
}

bool SameObject(const LoadedObject& a, const LoadedObject& b) {
  return a.found && b.found && a.bias == b.bias && a.name == b.name;
}

// An address is only read (or later written) once it is known to lie in writable data of
// the object that holds OpenSSL.
bool InDataOf(const LoadedObject& object, uintptr_t address, size_t size) {
  const LoadedObject first = ObjectAt(address);
  const LoadedObject last = ObjectAt(address + size - 1);
  return SameObject(first, object) && first.writable && SameObject(last, object) && last.writable;
}

// What one pass over the symbol table finds: each impl pointer's link-time address, named
// by the table as a local 8-byte object of mem.c, and whether the table names the exported
// CRYPTO_get_mem_functions where it was loaded (which proves the file read is the one
// loaded). Names are read only where cheaper tests passed: the string table of a Node
// binary is 7–19 MB, and touching all of it costs tens of milliseconds.
struct SymbolFindings {
  uint64_t getter = 0;  // where CRYPTO_get_mem_functions must be, link-time
  bool getter_found = false;
  uint64_t impl[3] = {0, 0, 0};
  int impl_count[3] = {0, 0, 0};  // more than one candidate: ambiguous, refused
};

void Collect(const ElfSymbol& symbol, SymbolFindings* found) {
  if (symbol.function) {
    if (symbol.value == found->getter && !symbol.local && strcmp(symbol.name, "CRYPTO_get_mem_functions") == 0)
      found->getter_found = true;
    return;
  }
  if (!symbol.object || !symbol.local || symbol.size != sizeof(void*) || strcmp(symbol.file, kMemSource) != 0) return;
  for (int i = 0; i < 3; ++i) {
    if (strcmp(symbol.name, kImplNames[i]) != 0) continue;
    found->impl[i] = symbol.value;
    ++found->impl_count[i];
  }
}

}  // namespace

bool LocateOpensslMemSite(OpensslMemSite* site, std::string* why) {
#if !defined(__x86_64__) && !defined(__aarch64__)
  *why =
      "tracking reads x86-64 and AArch64 ELF symbol tables to confirm OpenSSL's private addresses; this is another "
      "architecture";
  return false;
#endif
  site->get_mem_functions = GlobalFunction<CryptoGetMemFn>("CRYPTO_get_mem_functions");
  site->crypto_malloc = GlobalFunction<CryptoMallocFn>("CRYPTO_malloc");
  site->crypto_realloc = GlobalFunction<CryptoReallocFn>("CRYPTO_realloc");
  site->crypto_free = GlobalFunction<CryptoFreeFn>("CRYPTO_free");
  using VersionFn = const char* (*)(int);
  const auto version = GlobalFunction<VersionFn>("OpenSSL_version");
  if (site->get_mem_functions == nullptr || site->crypto_malloc == nullptr || site->crypto_realloc == nullptr ||
      site->crypto_free == nullptr || version == nullptr) {
    *why =
        "this process exports no OpenSSL CRYPTO_get_mem_functions/CRYPTO_malloc (Node built with BoringSSL or without "
        "crypto)";
    return false;
  }
  site->version = version(0);
  if (site->version.rfind("OpenSSL 3.", 0) != 0 && site->version.rfind("OpenSSL 1.1.", 0) != 0) {
    *why = "the OpenSSL in this process is " + site->version + "; tracking knows OpenSSL 1.1 and 3.x";
    return false;
  }
  const LoadedObject object = ObjectAt(reinterpret_cast<uintptr_t>(site->get_mem_functions));
  if (!object.found) {
    *why = "cannot tell which object defines CRYPTO_get_mem_functions";
    return false;
  }
  const uintptr_t functions[] = {reinterpret_cast<uintptr_t>(site->crypto_malloc),
                                 reinterpret_cast<uintptr_t>(site->crypto_realloc),
                                 reinterpret_cast<uintptr_t>(site->crypto_free)};
  for (const uintptr_t function : functions) {
    if (!SameObject(ObjectAt(function), object)) {
      *why = "OpenSSL's CRYPTO_ memory functions resolve into different objects (interposed?)";
      return false;
    }
  }
  const uintptr_t bias = object.bias;
  // The main program has an empty name in the program header list; its file is
  // /proc/self/exe (named by its real path in messages), the loaded file even if its path
  // was replaced since start.
  site->object = object.name.empty() ? ExecutablePath() : object.name;
  const std::string file = object.name.empty() ? "/proc/self/exe" : object.name;

  // Source 1: the symbol table.
  SymbolFindings found;
  found.getter = reinterpret_cast<uintptr_t>(site->get_mem_functions) - bias;
  if (!ForEachElfSymbol(
          file, site->object, [&found](const ElfSymbol& symbol) { Collect(symbol, &found); }, why)) {
    *why = "OpenSSL's private allocator state cannot be confirmed: " + *why;
    return false;
  }
  if (!found.getter_found) {
    *why = site->object + "'s symbol table does not match the loaded code (file replaced since start?)";
    return false;
  }
  // Source 2: the public getter reads the same three pointers.
  CryptoMallocFn current_malloc = nullptr;
  CryptoReallocFn current_realloc = nullptr;
  CryptoFreeFn current_free = nullptr;
  site->get_mem_functions(&current_malloc, &current_realloc, &current_free);
  const uintptr_t current[3] = {reinterpret_cast<uintptr_t>(current_malloc),
                                reinterpret_cast<uintptr_t>(current_realloc),
                                reinterpret_cast<uintptr_t>(current_free)};
  uintptr_t at[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (found.impl_count[i] != 1) {
      *why = site->object + "'s symbol table names " + (found.impl_count[i] == 0 ? "no" : "more than one") +
             " local 8-byte `" + kImplNames[i] + "` of " + kMemSource + " (not OpenSSL's crypto/mem.c layout)";
      return false;
    }
    at[i] = found.impl[i] + bias;
    if (!InDataOf(object, at[i], sizeof(void*))) {
      *why =
          std::string("`") + kImplNames[i] + "` at " + Hex(at[i]) + " is not in " + site->object + "'s writable data";
      return false;
    }
    if (__atomic_load_n(reinterpret_cast<const uintptr_t*>(at[i]), __ATOMIC_ACQUIRE) != current[i]) {
      *why = std::string("`") + kImplNames[i] + "` at " + Hex(at[i]) +
             " does not hold what CRYPTO_get_mem_functions reports";
      return false;
    }
  }
  site->malloc_impl = reinterpret_cast<CryptoMallocFn*>(at[0]);
  site->realloc_impl = reinterpret_cast<CryptoReallocFn*>(at[1]);
  site->free_impl = reinterpret_cast<CryptoFreeFn*>(at[2]);
  return true;
}

}  // namespace sockprobe
