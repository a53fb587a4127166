// Who holds allocator GOT slots that hold neither the real definition nor our hook: another
// copy of sockprobe (it exports kMarkerSymbol), or another tool, named by its object's path.
#pragma once
#include <cstdint>
#include <string>

namespace sockprobe {
namespace heap {

// Exported by every copy of the addon, so one copy recognises another's hooks.
constexpr const char* kMarkerSymbol = "sockprobe_native_heap_marker";

// "another copy of sockprobe (PATH) holds the malloc slots" or "another tool (PATH) holds
// the malloc slots", for a slot's current value `address`. Asks the loader (dladdr, and
// dlopen/dlsym for the marker) outside any loader callback; the answer is kept per object,
// so a tool without the marker costs one failing dlsym. Callers serialise.
std::string SlotHolder(uintptr_t address);

}  // namespace heap
}  // namespace sockprobe
