// The loaded ELF objects, copied out of dl_iterate_phdr without allocating under its lock.
//
// dl_iterate_phdr holds the dynamic loader's lock while it calls back. An allocator-level
// profiler (heaptrack, gperftools, anything that unwinds in malloc) takes its own lock and
// then the loader's; a callback that allocates takes them the other way round, and the two
// threads wait for each other forever. So the callback here only copies into storage
// reserved before the walk (names and program headers by value: once the lock is released
// another thread may dlclose the object), and everything else is built after it returns.
#pragma once
#include <elf.h>
#include <link.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sockprobe {

struct ObjectCopy {
  std::string name;  // dlpi_name as the loader has it ("" for the executable, and the vDSO on some kernels)
  uintptr_t bias;    // dlpi_addr
  std::vector<ElfW(Phdr)> phdrs;
};

// Every loaded object in the loader's order (the executable first). Walks again with more
// room when objects were loaded between the reservation and the walk; empty only if that
// kept happening (the caller then sees no objects, never a partial list).
std::vector<ObjectCopy> CopyLoadedObjects() noexcept;

}  // namespace sockprobe
