#include "heap/holder.h"

#include <dlfcn.h>

#include <cstdio>
#include <vector>

#include "heap/symbolize.h"

extern "C" {
// Its value does not matter; its presence in an object's dynamic symbols does.
__attribute__((visibility("default"), used)) extern const char sockprobe_native_heap_marker[] =
    "sockprobe native heap profiler";
}

namespace sockprobe {
namespace heap {

namespace {

struct Known {
  uintptr_t base;
  std::string name;  // dladdr's dli_fname
  std::string sentence;
};
std::vector<Known> g_known;

bool ExportsMarker(const Dl_info& object) {
  void* handle = dlopen(object.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  void* marker = dlsym(handle, kMarkerSymbol);
  // dlsym on a handle also searches its dependencies: the marker must be the object's own.
  Dl_info where{};
  const bool own = marker != nullptr && dladdr(marker, &where) != 0 && where.dli_fbase == object.dli_fbase;
  dlclose(handle);
  return own;
}

}  // namespace

std::string SlotHolder(uintptr_t address) {
  Dl_info info{};
  if (address == 0 || dladdr(reinterpret_cast<void*>(address), &info) == 0 || info.dli_fname == nullptr) {
    char where[64];
    snprintf(where, sizeof where, "0x%zx", static_cast<size_t>(address));
    return std::string("another tool (code at ") + where + ", in no loaded object) holds the malloc slots";
  }
  const auto base = reinterpret_cast<uintptr_t>(info.dli_fbase);
  for (const Known& known : g_known) {
    if (known.base == base && known.name == info.dli_fname) return known.sentence;
  }
  const bool executable = info.dli_fname[0] == '\0';
  const std::string path = executable ? ExecutablePath() : info.dli_fname;
  const bool copy = !executable && ExportsMarker(info);
  std::string sentence = (copy ? "another copy of sockprobe (" : "another tool (") + path + ") holds the malloc slots";
  g_known.push_back(Known{base, info.dli_fname, sentence});
  return sentence;
}

}  // namespace heap
}  // namespace sockprobe
