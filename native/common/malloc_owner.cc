#include "common/malloc_owner.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstring>
#include <vector>

#include "common/loaded_objects.h"

namespace sockprobe {

// True when `address` is `name`'s real definition in the object `dladdr` names, not a
// canonical PLT stub: a non-PIE executable that takes malloc's address exports an
// undefined `malloc` whose value is its PLT entry, and dlsym(RTLD_DEFAULT) returns that.
static bool DefinedAt(void* address, Dl_info* info) {
  const ElfW(Sym)* symbol = nullptr;
  if (address == nullptr ||
      dladdr1(address, info, const_cast<void**>(reinterpret_cast<const void**>(&symbol)), RTLD_DL_SYMENT) == 0)
    return false;
  return info->dli_fname != nullptr && symbol != nullptr && symbol->st_shndx != SHN_UNDEF;
}

static MallocOwner ResolveOwner() {
  MallocOwner owner{"", nullptr};
  Dl_info info{};
  if (DefinedAt(dlsym(RTLD_DEFAULT, "malloc"), &info)) {
    owner.path = info.dli_fname;
  } else {
    // Walk the objects in load order (the executable first, then LD_PRELOAD, then the
    // needed libraries): the order the dynamic linker binds calls in. The first object
    // that defines malloc itself serves it.
    const std::vector<ObjectCopy> objects = CopyLoadedObjects();
    for (size_t i = 1; i < objects.size() && owner.path.empty(); ++i) {
      const std::string& name = objects[i].name;
      if (name.empty()) continue;
      void* handle = dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
      if (handle == nullptr) continue;
      if (DefinedAt(dlsym(handle, "malloc"), &info) && name == info.dli_fname) owner.path = name;
      dlclose(handle);
    }
  }
#ifdef SOCKPROBE_SANITIZER_BUILD
  // Sanitizer runs only (sanitizers/run.sh): ASan and valgrind serve malloc themselves, which
  // would leave every glibc path untested. Treat libc as the owner so those paths run.
  if (owner.path.find("libasan") != std::string::npos || owner.path.find("vgpreload") != std::string::npos)
    owner.path = "libc.so.6";
#endif
  if (!owner.path.empty()) owner.handle = dlopen(owner.path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (owner.handle != nullptr) {
    // Name the object as the linker has it loaded (a full path), whatever name found it.
    Dl_info info{};
    if (DefinedAt(dlsym(owner.handle, "malloc"), &info) && owner.path != info.dli_fname &&
        owner.path.find('/') == std::string::npos)
      owner.path = info.dli_fname;
  }
  return owner;
}

const MallocOwner& GetMallocOwner() {
  static const MallocOwner owner = ResolveOwner();  // thread-safe static initialisation
  return owner;
}

void* OwnerSymbol(const char* name) {
  const MallocOwner& owner = GetMallocOwner();
  if (owner.handle == nullptr) return nullptr;
  // dlsym on a handle also searches that object's dependencies (jemalloc's include libc):
  // keep only what the owner itself defines.
  void* symbol = dlsym(owner.handle, name);
  Dl_info info{};
  if (!DefinedAt(symbol, &info) || owner.path != info.dli_fname) return nullptr;
  return symbol;
}

}  // namespace sockprobe
