#include "heap/objects.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "common/loaded_objects.h"
#include "heap/functions.h"

namespace sockprobe {
namespace heap {

namespace {

std::mutex g_resolve_mutex;
bool g_resolved = false;
bool g_resolve_ok = false;
std::string g_resolve_problem;
std::string g_allocator_object;

// dladdr1 names the object and the symbol table entry `address` falls in; an entry that is
// undefined there is a canonical PLT stub, not a definition.
bool DefinedIn(void* address, const std::string& object) {
  Dl_info info{};
  const ElfW(Sym)* symbol = nullptr;
  if (address == nullptr ||
      dladdr1(address, &info, const_cast<void**>(reinterpret_cast<const void**>(&symbol)), RTLD_DL_SYMENT) == 0)
    return false;
  return info.dli_fname != nullptr && object == info.dli_fname && symbol != nullptr && symbol->st_shndx != SHN_UNDEF &&
         info.dli_saddr == address;
}

// Objects whose scope cannot define the allocator (the dynamic linker alone, the vDSO): a
// dlopen or dlsym there would only fail, and a failing one builds its dlerror() message with
// malloc while it holds the loader's lock, and replaces the application's pending dlerror().
bool NoAllocatorScope(const std::string& name) {
  return name.find("linux-vdso") != std::string::npos || name.find("linux-gate") != std::string::npos ||
         name.find("/ld-linux") != std::string::npos || name.rfind("ld-linux", 0) == 0;
}

}  // namespace

bool LoadedObject::Contains(uintptr_t address, size_t bytes) const {
  for (const ElfW(Phdr)& phdr : phdrs) {
    if (phdr.p_type != PT_LOAD) continue;
    const uintptr_t start = bias + phdr.p_vaddr;
    if (address >= start && address - start <= phdr.p_memsz && bytes <= phdr.p_memsz - (address - start)) return true;
  }
  return false;
}

std::vector<LoadedObject> ListObjects() {
  std::vector<ObjectCopy> copies = CopyLoadedObjects();
  std::vector<LoadedObject> objects;
  objects.reserve(copies.size());
  for (ObjectCopy& copy : copies) {
    objects.push_back(LoadedObject{std::move(copy.name), copy.bias, std::move(copy.phdrs), objects.empty()});
  }
  return objects;
}

bool ResolveReals(std::string* why) {
  std::lock_guard<std::mutex> lock(g_resolve_mutex);
  if (!g_resolved) {
    g_resolved = true;
    const std::vector<LoadedObject> objects = ListObjects();
    for (const LoadedObject& object : objects) {
      if (object.executable || object.name.empty() || NoAllocatorScope(object.name)) continue;
      void* handle = dlopen(object.name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
      if (handle == nullptr) continue;
      for (int fn = 0; fn < kFnCount; ++fn) {
        if (Real(fn) != nullptr) continue;
        void* address = dlsym(handle, Function(fn).name);
        if (DefinedIn(address, object.name)) {
          SetReal(fn, address);
          if (fn == kMalloc && object.name.find("/libc.so") == std::string::npos) g_allocator_object = object.name;
        }
      }
      dlclose(handle);
    }
    for (const LoadedObject& object : objects) {
      if (object.name.find("ld-linux") == std::string::npos) continue;
      uintptr_t start = UINTPTR_MAX, end = 0;
      for (const ElfW(Phdr)& phdr : object.phdrs) {
        if (phdr.p_type != PT_LOAD) continue;
        start = std::min<uintptr_t>(start, object.bias + phdr.p_vaddr);
        end = std::max<uintptr_t>(end, object.bias + phdr.p_vaddr + phdr.p_memsz);
      }
      if (end > start) SetDynamicLinkerRange(start, end);
    }
    if (Real(kMalloc) == nullptr || Real(kFree) == nullptr) {
      g_resolve_problem =
          "no loaded object defines malloc and free (a statically linked allocator cannot be intercepted)";
    } else {
      g_resolve_ok = true;
    }
  }
  if (!g_resolve_ok) *why = g_resolve_problem;
  return g_resolve_ok;
}

const std::string& AllocatorObject() { return g_allocator_object; }

bool OwnScopeResolvesToReal(const LoadedObject& object, int fn) {
  if (object.executable || object.name.empty() || NoAllocatorScope(object.name) || Real(fn) == nullptr) return false;
  void* handle = dlopen(object.name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  const bool same = dlsym(handle, Function(fn).name) == Real(fn);
  dlclose(handle);
  return same;
}

}  // namespace heap
}  // namespace sockprobe
