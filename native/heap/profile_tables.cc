#include "heap/profile_tables.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <utility>

namespace sockprobe {
namespace heap {

namespace {

// Sites whose stacks are equal once sockprobe's own frames are removed become one.
std::vector<RawSite> MergeByStack(std::vector<RawSite>&& sites) {
  std::vector<RawSite> merged;
  merged.reserve(sites.size());
  std::map<std::vector<uint32_t>, size_t> index_of;
  for (RawSite& site : sites) {
    auto [it, inserted] = index_of.emplace(site.stack, merged.size());
    if (inserted) {
      merged.push_back(std::move(site));
      continue;
    }
    RawSite& existing = merged[it->second];
    existing.bytes += site.bytes;
    existing.count += site.count;
    existing.samples += site.samples;
  }
  return merged;
}

class StringTable {
 public:
  explicit StringTable(ProfileTables* tables) : tables_(tables) {}
  int32_t Intern(const std::string& value) {
    if (value.empty()) return -1;
    auto [it, inserted] = index_of_.emplace(value, static_cast<int32_t>(index_of_.size()));
    if (inserted) tables_->strings.append(value).push_back('\0');
    return it->second;
  }

 private:
  ProfileTables* tables_;
  std::unordered_map<std::string, int32_t> index_of_;
};

}  // namespace

ProfileTables Tabulate(const std::vector<FrameInfo>& frames, std::vector<RawSite>&& sites) {
  std::vector<RawSite> merged = MergeByStack(std::move(sites));
  std::stable_sort(merged.begin(), merged.end(), [](const RawSite& a, const RawSite& b) { return a.bytes > b.bytes; });
  ProfileTables tables;
  StringTable strings(&tables);
  std::vector<uint32_t> renumbered(frames.size(), UINT32_MAX);
  uint32_t used = 0;
  for (const RawSite& site : merged) {
    tables.site_bytes.push_back(site.bytes);
    tables.site_counts.push_back(site.count);
    tables.site_samples.push_back(static_cast<double>(site.samples));
    const size_t first = tables.stack_frames.size();
    for (uint32_t index : site.stack) {
      if (index >= frames.size()) continue;  // Never: TakeProfile numbers every frame it gives.
      if (renumbered[index] == UINT32_MAX) {
        renumbered[index] = used++;
        const FrameInfo& frame = frames[index];
        tables.frame_addresses.push_back(static_cast<uint32_t>(static_cast<uint64_t>(frame.address) >> 32));
        tables.frame_addresses.push_back(static_cast<uint32_t>(frame.address));
        tables.frame_names.push_back(strings.Intern(frame.name));
        tables.frame_modules.push_back(strings.Intern(frame.module));
        tables.frame_offsets.push_back(frame.module.empty() ? 0 : static_cast<double>(frame.offset));
        tables.frame_kinds.push_back(FrameKindCode(frame.kind));
      }
      tables.stack_frames.push_back(renumbered[index]);
    }
    tables.stack_lengths.push_back(static_cast<uint32_t>(tables.stack_frames.size() - first));
  }
  return tables;
}

}  // namespace heap
}  // namespace sockprobe
