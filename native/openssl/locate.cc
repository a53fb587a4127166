#include "openssl/locate.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "openssl/elf_symbols.h"
#include "openssl/rip_decode.h"

namespace sockprobe {

namespace {

std::string Hex(uintptr_t value) {
  char text[32];
  snprintf(text, sizeof text, "0x%zx", static_cast<size_t>(value));
  return text;
}

template <typename T>
T Exported(const char* name) {
  return reinterpret_cast<T>(dlsym(RTLD_DEFAULT, name));
}

// The symbol table must name `query.value` as the private variable we expect there: the
// code says where it reads, the table says what that is. Both must agree.
bool Confirmed(const ElfSymbolQuery& query, uint64_t size, uintptr_t bias, std::string* why) {
  if (query.found && query.local && query.object && query.size == size) return true;
  *why = "the symbol table does not name " + Hex(query.value + bias) + " (read by OpenSSL's code) as the private `" +
         query.name + "`" + (query.found ? " of the expected size" : "");
  return false;
}

std::string ExecutablePath() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string("/proc/self/exe");
}

struct LoadedObject {
  std::string name;   // "" for the main program
  uintptr_t bias = 0;
  bool found = false;
  bool writable = false;  // the segment holding the address is writable data
};

struct ObjectSearch {
  uintptr_t address;
  LoadedObject* out;
};

// Which loaded object's segments contain `address`. Walks program headers only: dladdr
// would scan the whole dynamic symbol table (tens of thousands of entries in Node) per call.
int FindObject(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<ObjectSearch*>(data);
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD) continue;
    const uintptr_t start = info->dlpi_addr + segment.p_vaddr;
    if (search->address >= start && search->address < start + segment.p_memsz) {
      search->out->name = info->dlpi_name != nullptr ? info->dlpi_name : "";
      search->out->bias = info->dlpi_addr;
      search->out->found = true;
      search->out->writable = (segment.p_flags & PF_W) != 0;
      return 1;
    }
  }
  return 0;
}

LoadedObject ObjectAt(const void* address) {
  LoadedObject object;
  ObjectSearch search{reinterpret_cast<uintptr_t>(address), &object};
  dl_iterate_phdr(FindObject, &search);
  return object;
}

}  // namespace

// An address decoded from code is only read (or later written) once it is known to lie in
// writable data of the object that holds OpenSSL.
bool InDataOf(const LoadedObject& object, uintptr_t address, size_t size) {
  const LoadedObject first = ObjectAt(reinterpret_cast<void*>(address));
  const LoadedObject last = ObjectAt(reinterpret_cast<void*>(address + size - 1));
  return first.found && first.writable && first.bias == object.bias && first.name == object.name &&
         last.found && last.writable && last.bias == object.bias && last.name == object.name;
}

bool LocateOpensslMemSite(OpensslMemSite* site, std::string* why) {
#if !defined(__x86_64__)
  *why = "tracking decodes x86-64 code to confirm OpenSSL's private addresses; this is another architecture";
  return false;
#endif
  site->set_mem_functions = Exported<CryptoSetMemFn>("CRYPTO_set_mem_functions");
  site->get_mem_functions = Exported<CryptoGetMemFn>("CRYPTO_get_mem_functions");
  site->crypto_malloc = Exported<CryptoMallocFn>("CRYPTO_malloc");
  site->crypto_realloc = Exported<CryptoReallocFn>("CRYPTO_realloc");
  site->crypto_free = Exported<CryptoFreeFn>("CRYPTO_free");
  using VersionFn = const char* (*)(int);
  const auto version = Exported<VersionFn>("OpenSSL_version");
  if (site->set_mem_functions == nullptr || site->get_mem_functions == nullptr || site->crypto_malloc == nullptr ||
      site->crypto_realloc == nullptr || site->crypto_free == nullptr || version == nullptr) {
    *why = "this process exports no OpenSSL CRYPTO_set_mem_functions/CRYPTO_malloc (Node built with BoringSSL or without crypto)";
    return false;
  }
  site->version = version(0);
  if (site->version.rfind("OpenSSL 3.", 0) != 0 && site->version.rfind("OpenSSL 1.1.", 0) != 0) {
    *why = "the OpenSSL in this process is " + site->version + "; tracking knows OpenSSL 1.1 and 3.x";
    return false;
  }
  const LoadedObject object = ObjectAt(reinterpret_cast<void*>(site->set_mem_functions));
  if (!object.found) {
    *why = "cannot tell which object defines CRYPTO_set_mem_functions";
    return false;
  }
  const void* functions[] = {reinterpret_cast<void*>(site->get_mem_functions), reinterpret_cast<void*>(site->crypto_malloc),
                             reinterpret_cast<void*>(site->crypto_realloc), reinterpret_cast<void*>(site->crypto_free)};
  for (const void* function : functions) {
    const LoadedObject other = ObjectAt(function);
    if (!other.found || other.bias != object.bias || other.name != object.name) {
      *why = "OpenSSL's CRYPTO_ memory functions resolve into different objects (interposed?)";
      return false;
    }
  }
  const uintptr_t bias = object.bias;
  // The main program has an empty name in the program header list; its file is
  // /proc/self/exe (named by its real path in messages).
  site->object = object.name.empty() ? ExecutablePath() : object.name;
  // /proc/self/exe is the loaded file even if its path was replaced since start.
  const std::string file = object.name.empty() ? "/proc/self/exe" : object.name;

  // What the code reads: CRYPTO_set_mem_functions first reads allow_customize, and each
  // CRYPTO_malloc/realloc/free first loads its impl pointer.
  const uintptr_t flag = FirstRipRelativeLoad(reinterpret_cast<void*>(site->set_mem_functions));
  if (flag == 0 || !InDataOf(object, flag, sizeof(int))) {
    *why = "CRYPTO_set_mem_functions does not start with the expected read of allow_customize; refusing to write an unconfirmed address";
    return false;
  }
  CryptoMallocFn current_malloc = nullptr;
  CryptoReallocFn current_realloc = nullptr;
  CryptoFreeFn current_free = nullptr;
  site->get_mem_functions(&current_malloc, &current_realloc, &current_free);
  struct Impl { const char* name; const char* function; const void* entry; const void* current; uintptr_t at; };
  Impl impls[] = {
      {"malloc_impl", "CRYPTO_malloc", reinterpret_cast<void*>(site->crypto_malloc), reinterpret_cast<void*>(current_malloc), 0},
      {"realloc_impl", "CRYPTO_realloc", reinterpret_cast<void*>(site->crypto_realloc), reinterpret_cast<void*>(current_realloc), 0},
      {"free_impl", "CRYPTO_free", reinterpret_cast<void*>(site->crypto_free), reinterpret_cast<void*>(current_free), 0},
  };
  for (Impl& impl : impls) {
    impl.at = FirstRipRelativeLoad(impl.entry);
    if (impl.at == 0 || !InDataOf(object, impl.at, sizeof(void*))) {
      *why = std::string(impl.function) + " does not start with the expected load of its impl pointer";
      return false;
    }
    // The value stored there must be what CRYPTO_get_mem_functions reports.
    if (*reinterpret_cast<const void* const*>(impl.at) != impl.current) {
      *why = std::string(impl.name) + " at " + Hex(impl.at) + " does not hold what CRYPTO_get_mem_functions reports";
      return false;
    }
  }

  // What the symbol table names there. The file on disk must also be the one loaded: its
  // CRYPTO_set_mem_functions plus the load bias is the exported address.
  std::vector<ElfSymbolQuery> queries = {
      {"CRYPTO_set_mem_functions", reinterpret_cast<uintptr_t>(site->set_mem_functions) - bias},
      {"allow_customize", flag - bias},
      {impls[0].name, impls[0].at - bias},
      {impls[1].name, impls[1].at - bias},
      {impls[2].name, impls[2].at - bias},
  };
  if (!QueryElfSymbols(file, site->object, &queries, why)) {
    *why = "OpenSSL's private allocator state cannot be confirmed: " + *why;
    return false;
  }
  if (!queries[0].found || queries[0].local || queries[0].object) {
    *why = site->object + "'s symbol table does not match the loaded code (file replaced since start?)";
    return false;
  }
  if (!Confirmed(queries[1], sizeof(int), bias, why)) return false;
  for (size_t i = 2; i < queries.size(); ++i) {
    if (!Confirmed(queries[i], sizeof(void*), bias, why)) return false;
  }
  const uintptr_t malloc_at = impls[0].at, realloc_at = impls[1].at, free_at = impls[2].at;
  site->allow_customize = reinterpret_cast<int*>(flag);
  site->malloc_impl = reinterpret_cast<CryptoMallocFn*>(malloc_at);
  site->realloc_impl = reinterpret_cast<CryptoReallocFn*>(realloc_at);
  site->free_impl = reinterpret_cast<CryptoFreeFn*>(free_at);
  return true;
}

}  // namespace sockprobe
