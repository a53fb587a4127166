// Functions resolved at run time instead of linked, so the addon loads where they are absent
// (older glibc, musl, an embedder without a V8 method) and the caller reports "unsupported".
#pragma once
#include <dlfcn.h>

namespace sockprobe {

// The definition the process binds `name` to (global scope), or nullptr.
template <typename Fn>
Fn GlobalFunction(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace sockprobe
