// The loaded ELF objects (dl_iterate_phdr), and the allocator functions' real definitions
// found among them in the dynamic linker's search order.
#pragma once
#include <elf.h>
#include <link.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sockprobe {
namespace heap {

struct LoadedObject {
  std::string name;  // as the linker has it ("" for the executable)
  uintptr_t bias;    // dlpi_addr: link-time address + bias = run-time address
  std::vector<ElfW(Phdr)> phdrs;
  bool executable;  // the first object: the main program
  // Run-time address range [start, end) of `bytes` at `address` inside one PT_LOAD segment.
  bool Contains(uintptr_t address, size_t bytes) const;
};

std::vector<LoadedObject> ListObjects();

// Resolves every intercepted function's real definition once: the first object after the
// executable (whose `malloc` is a PLT stub when it takes malloc's address) that defines it,
// confirmed by dladdr1's symbol entry. Returns false with `why` when malloc or free has
// none. Also names the object serving malloc.
bool ResolveReals(std::string* why);
// The object that defines the real malloc, when it is not libc (a preloaded allocator):
// its own slots are left alone.
const std::string& AllocatorObject();
// Whether `object`'s own scope (itself, then its dependencies: what dlsym on its handle
// searches, and what RTLD_DEEPBIND or DT_SYMBOLIC make its lazy binding search first) names
// the same definition of function `fn` as the global scope did. Then a lazy jump slot of
// `object` binds to Real(fn) whichever way it is resolved.
bool OwnScopeResolvesToReal(const LoadedObject& object, int fn);

}  // namespace heap
}  // namespace sockprobe
