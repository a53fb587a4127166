// Which shared object really serves malloc, and that object's own API, resolved at run time.
#pragma once
#include <string>

namespace sockprobe {

struct MallocOwner {
  std::string path;   // object that dlsym(RTLD_DEFAULT, "malloc") resolves into; "" when unknown
  void* handle;       // dlopen(path, RTLD_NOLOAD) of that object, or nullptr
};

// Resolved once per process; malloc cannot change owner after start-up.
const MallocOwner& GetMallocOwner();

// Looks a symbol up in the object that serves malloc first, then process-wide.
// Looking in the owner first keeps us from calling, say, a jemalloc that some library
// linked privately while glibc serves malloc.
void* OwnerSymbol(const char* name);

}  // namespace sockprobe
