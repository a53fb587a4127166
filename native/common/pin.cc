#include "common/pin.h"

#include <dlfcn.h>

namespace sockprobe {

namespace {

bool Pin() noexcept {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&Pin), &info) == 0 || info.dli_fname == nullptr) return false;
  // RTLD_NOLOAD: only promotes the object already loaded (ours, by the path the loader has
  // for it). The handle is never closed: that reference is the point.
  return dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE) != nullptr;
}

}  // namespace

bool PinOwnCode() noexcept {
  static const bool pinned = Pin();  // thread-safe static initialisation
  return pinned;
}

}  // namespace sockprobe
