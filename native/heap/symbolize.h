// Names for sampled return addresses, on the threadpool: dladdr for shared objects, the
// executable's full .symtab (official Node builds keep it) for the executable, demangled;
// module + offset where no symbol covers an address; anonymous executable memory is V8's
// JIT code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sockprobe {
namespace heap {

enum class FrameKind { kNative, kJavascript, kUnknown };

struct FrameInfo {
  uintptr_t address = 0;
  std::string name;     // "" when no symbol covers it
  std::string module;   // "" when in no object
  uint64_t offset = 0;  // address − the module's base (dladdr's dli_fbase)
  FrameKind kind = FrameKind::kUnknown;
  bool own = false;  // inside sockprobe's addon (its OpenSSL tracking hooks)
};

std::vector<FrameInfo> Symbolize(const std::vector<uintptr_t>& addresses);

// The executable's real path (/proc/self/exe resolved).
std::string ExecutablePath();

}  // namespace heap
}  // namespace sockprobe
