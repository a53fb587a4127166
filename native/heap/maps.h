// /proc/self/maps, read with plain read(2): the protection of every page we may write, the
// main thread's stack, which executable mappings are anonymous (V8's JIT code), and which
// file (device, inode) and file offset a file-backed mapping shows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sockprobe {
namespace heap {

struct Mapping {
  uintptr_t start;
  uintptr_t end;
  int prot;              // PROT_READ | PROT_WRITE | PROT_EXEC
  bool anonymous;        // no path and not a [special] region
  bool stack;            // [stack]
  uint64_t file_offset;  // where in its file the mapping starts (0 when anonymous)
  uint64_t device;       // major:minor of the file's device, as (major << 32) | minor; 0 when anonymous
  uint64_t inode;        // the file's inode; 0 when anonymous or special
};

class Maps {
 public:
  // Empty when the file cannot be read.
  static Maps ReadSelf();
  const Mapping* Find(uintptr_t address) const;
  const Mapping* MainStack() const;
  // Another mapping of `mapping`'s file (same device and inode) that holds the file's byte at
  // `file_offset`; nullptr when none does. V8 maps its embedded builtins a second time from
  // the executable file, away from the loader's mapping of the same bytes.
  const Mapping* OtherMappingOfFile(const Mapping& mapping, uint64_t file_offset) const;
  bool empty() const { return mappings_.empty(); }

 private:
  std::vector<Mapping> mappings_;  // sorted by start, as the kernel lists them
};

}  // namespace heap
}  // namespace sockprobe
