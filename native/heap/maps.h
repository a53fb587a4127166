// /proc/self/maps, read with plain read(2): the protection of every page we may write, the
// main thread's stack, and which executable mappings are anonymous (V8's JIT code).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sockprobe {
namespace heap {

struct Mapping {
  uintptr_t start;
  uintptr_t end;
  int prot;          // PROT_READ | PROT_WRITE | PROT_EXEC
  bool anonymous;    // no path and not a [special] region
  bool stack;        // [stack]
};

class Maps {
 public:
  // Empty when the file cannot be read.
  static Maps ReadSelf();
  const Mapping* Find(uintptr_t address) const;
  const Mapping* MainStack() const;
  bool empty() const { return mappings_.empty(); }

 private:
  std::vector<Mapping> mappings_;  // sorted by start, as the kernel lists them
};

}  // namespace heap
}  // namespace sockprobe
