// A profile as a few flat arrays, made on the threadpool: sites with the same stack merged
// and sorted by bytes, the frames they reach numbered in order of first use, names and
// modules interned once. The JS thread's completion callback then creates a handful of
// values (init.cc), and src/native-heap/decode.ts builds the objects in slices.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "heap/symbolize.h"

namespace sockprobe {
namespace heap {

struct RawSite {
  double bytes = 0;    // unbiased estimate of live bytes
  double count = 0;    // unbiased estimate of live allocations
  uint64_t samples = 0;
  std::vector<uint32_t> stack;  // indices into the frames given to Tabulate, innermost first
};

// The codes in ProfileTables::frame_kinds are indices into this list (exported with each
// profile, so the TS side holds no copy of it).
constexpr const char* kFrameKindNames[] = {"native", "javascript", "unknown"};
constexpr uint8_t FrameKindCode(FrameKind kind) {
  return kind == FrameKind::kNative ? 0 : kind == FrameKind::kJavascript ? 1 : 2;
}

struct ProfileTables {
  // Distinct names and module paths, each followed by '\0' (no symbol or path holds one).
  std::string strings;
  // Per frame: the address as high then low 32 bits (exact for every 64-bit value).
  std::vector<uint32_t> frame_addresses;
  std::vector<int32_t> frame_names;    // index into strings, −1 where no symbol covers it
  std::vector<int32_t> frame_modules;  // index into strings, −1 outside every object
  std::vector<double> frame_offsets;   // address − the module's base; 0 outside every object
  std::vector<uint8_t> frame_kinds;    // FrameKindCode
  // Per site, largest bytes first.
  std::vector<double> site_bytes;
  std::vector<double> site_counts;
  std::vector<double> site_samples;
  std::vector<uint32_t> stack_lengths;
  std::vector<uint32_t> stack_frames;  // every site's frame indices, innermost first, one after another
};

// Consumes `sites`; frames no site reaches are left out.
ProfileTables Tabulate(const std::vector<FrameInfo>& frames, std::vector<RawSite>&& sites);

}  // namespace heap
}  // namespace sockprobe
