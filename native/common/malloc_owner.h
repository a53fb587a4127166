// Which shared object really serves malloc, and that object's own API, resolved at run time.
#pragma once
#include <string>

namespace sockprobe {

struct MallocOwner {
  std::string path;  // object that dlsym(RTLD_DEFAULT, "malloc") resolves into; "" when unknown
  void* handle;      // dlopen(path, RTLD_NOLOAD) of that object, or nullptr
};

// Resolved once per process; malloc cannot change owner after start-up.
const MallocOwner& GetMallocOwner();

// A symbol the object serving malloc itself defines, or nullptr: never one of its
// dependencies', so we do not call, say, a jemalloc that some library linked privately
// while glibc serves malloc.
void* OwnerSymbol(const char* name);

template <typename Fn>
Fn OwnerFunction(const char* name) {
  return reinterpret_cast<Fn>(OwnerSymbol(name));
}

}  // namespace sockprobe
