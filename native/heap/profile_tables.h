// A profile as a few flat arrays, made on the threadpool: sites with the same stack merged
// and sorted by bytes, the frames they reach numbered in order of first use, names and
// modules interned once. The arrays share one malloc'd block, made while the profiler
// ignores its own work (session.cc's OwnWork), which the JS thread's completion callback
// lends to V8 as one external ArrayBuffer (init.cc): a handful of values whatever the
// profile's size, and nothing the next profile would count as the application's heap.
// src/native-heap/decode.ts builds the objects in slices.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "heap/symbolize.h"

namespace sockprobe {
namespace heap {

struct RawSite {
  double bytes = 0;  // unbiased estimate of live bytes
  double count = 0;  // unbiased estimate of live allocations
  uint64_t samples = 0;
  std::vector<uint32_t> stack;  // indices into the frames given to Tabulate, innermost first
};

// The codes in frames.kinds are indices into this list (exported with each profile, so the
// TS side holds no copy of it).
constexpr const char* kFrameKindNames[] = {"native", "javascript", "unknown"};

enum class ElementType { kFloat64, kUint32, kInt32, kUint8 };

// One typed array over the block: `table.name` in the JS object (src/binding/heap.ts).
struct TableSection {
  const char* table;  // "frames" or "sites"
  const char* name;
  ElementType type;
  size_t byte_offset;  // aligned to the element size
  size_t length;       // in elements
};

// Owns a malloc'd block until Release() hands it on (to V8's finalizer, which frees it).
class TableBlock {
 public:
  TableBlock() = default;
  explicit TableBlock(size_t bytes);
  ~TableBlock();
  TableBlock(TableBlock&& other) noexcept;
  TableBlock& operator=(TableBlock&& other) noexcept;
  TableBlock(const TableBlock&) = delete;
  TableBlock& operator=(const TableBlock&) = delete;
  unsigned char* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  unsigned char* Release();

 private:
  unsigned char* data_ = nullptr;
  size_t bytes_ = 0;
};

struct ProfileTables {
  // Distinct names and module paths, each followed by '\0' (no symbol or path holds one).
  std::string strings;
  TableBlock block;  // empty only when malloc failed (then `ok` is false)
  std::vector<TableSection> sections;
  bool ok = false;
};

// Consumes `sites`; frames no site reaches are left out. Frames: addresses (uint32 high,
// low halves), names and modules (index into strings, −1 for none), offsets (0 outside every
// object), kinds. Sites, largest bytes first: bytes, counts, samples, stackLengths,
// stackFrames (every site's frame indices one after another, innermost first).
ProfileTables Tabulate(const std::vector<FrameInfo>& frames, std::vector<RawSite>&& sites);

}  // namespace heap
}  // namespace sockprobe
