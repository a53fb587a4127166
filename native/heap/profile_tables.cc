#include "heap/profile_tables.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>
#include <utility>

namespace sockprobe {
namespace heap {

TableBlock::TableBlock(size_t bytes)
    : data_(static_cast<unsigned char*>(malloc(bytes == 0 ? 1 : bytes))), bytes_(data_ ? bytes : 0) {}
TableBlock::~TableBlock() { free(data_); }
TableBlock::TableBlock(TableBlock&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
  other.data_ = nullptr;
  other.bytes_ = 0;
}
TableBlock& TableBlock::operator=(TableBlock&& other) noexcept {
  if (this != &other) {
    free(data_);
    data_ = other.data_;
    bytes_ = other.bytes_;
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}
unsigned char* TableBlock::Release() {
  unsigned char* data = data_;
  data_ = nullptr;
  bytes_ = 0;
  return data;
}

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
  explicit StringTable(std::string* joined) : joined_(joined) {}
  int32_t Intern(const std::string& value) {
    if (value.empty()) return -1;
    auto [it, inserted] = index_of_.emplace(value, static_cast<int32_t>(index_of_.size()));
    if (inserted) joined_->append(value).push_back('\0');
    return it->second;
  }

 private:
  std::string* joined_;
  std::unordered_map<std::string, int32_t> index_of_;
};

// The arrays while they grow; packed into one block at the end.
struct Columns {
  std::vector<uint32_t> frame_addresses;
  std::vector<int32_t> frame_names;
  std::vector<int32_t> frame_modules;
  std::vector<double> frame_offsets;
  std::vector<uint8_t> frame_kinds;
  std::vector<double> site_bytes;
  std::vector<double> site_counts;
  std::vector<double> site_samples;
  std::vector<uint32_t> stack_lengths;
  std::vector<uint32_t> stack_frames;
};

uint8_t KindCode(FrameKind kind) { return kind == FrameKind::kNative ? 0 : kind == FrameKind::kJavascript ? 1 : 2; }

// Lays out the sections one after another and remembers where each one's values come from.
class Layout {
 public:
  explicit Layout(std::vector<TableSection>* sections) : sections_(sections) {}
  template <typename T>
  void Add(const char* table, const char* name, ElementType type, const std::vector<T>& values) {
    sections_->push_back({table, name, type, bytes_, values.size()});
    sources_.push_back({values.data(), values.size() * sizeof(T)});
    bytes_ += values.size() * sizeof(T);
  }
  size_t bytes() const { return bytes_; }
  void CopyInto(unsigned char* block) const {
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (sources_[i].second > 0)
        std::memcpy(block + (*sections_)[i].byte_offset, sources_[i].first, sources_[i].second);
    }
  }

 private:
  std::vector<TableSection>* sections_;
  std::vector<std::pair<const void*, size_t>> sources_;
  size_t bytes_ = 0;
};

}  // namespace

ProfileTables Tabulate(const std::vector<FrameInfo>& frames, std::vector<RawSite>&& sites) {
  std::vector<RawSite> merged = MergeByStack(std::move(sites));
  std::stable_sort(merged.begin(), merged.end(), [](const RawSite& a, const RawSite& b) { return a.bytes > b.bytes; });
  ProfileTables tables;
  StringTable strings(&tables.strings);
  Columns c;
  std::vector<uint32_t> renumbered(frames.size(), UINT32_MAX);
  uint32_t used = 0;
  for (const RawSite& site : merged) {
    c.site_bytes.push_back(site.bytes);
    c.site_counts.push_back(site.count);
    c.site_samples.push_back(static_cast<double>(site.samples));
    const size_t first = c.stack_frames.size();
    for (uint32_t index : site.stack) {
      if (index >= frames.size()) continue;  // Never: TakeProfile numbers every frame it gives.
      if (renumbered[index] == UINT32_MAX) {
        renumbered[index] = used++;
        const FrameInfo& frame = frames[index];
        c.frame_addresses.push_back(static_cast<uint32_t>(static_cast<uint64_t>(frame.address) >> 32));
        c.frame_addresses.push_back(static_cast<uint32_t>(frame.address));
        c.frame_names.push_back(strings.Intern(frame.name));
        c.frame_modules.push_back(strings.Intern(frame.module));
        c.frame_offsets.push_back(frame.module.empty() ? 0 : static_cast<double>(frame.offset));
        c.frame_kinds.push_back(KindCode(frame.kind));
      }
      c.stack_frames.push_back(renumbered[index]);
    }
    c.stack_lengths.push_back(static_cast<uint32_t>(c.stack_frames.size() - first));
  }
  // 8-byte elements first, then 4-byte, then bytes: every section stays aligned.
  Layout layout(&tables.sections);
  layout.Add("frames", "offsets", ElementType::kFloat64, c.frame_offsets);
  layout.Add("sites", "bytes", ElementType::kFloat64, c.site_bytes);
  layout.Add("sites", "counts", ElementType::kFloat64, c.site_counts);
  layout.Add("sites", "samples", ElementType::kFloat64, c.site_samples);
  layout.Add("frames", "addresses", ElementType::kUint32, c.frame_addresses);
  layout.Add("frames", "names", ElementType::kInt32, c.frame_names);
  layout.Add("frames", "modules", ElementType::kInt32, c.frame_modules);
  layout.Add("sites", "stackLengths", ElementType::kUint32, c.stack_lengths);
  layout.Add("sites", "stackFrames", ElementType::kUint32, c.stack_frames);
  layout.Add("frames", "kinds", ElementType::kUint8, c.frame_kinds);
  tables.block = TableBlock(layout.bytes());
  if (tables.block.data() == nullptr) return tables;
  layout.CopyInto(tables.block.data());
  tables.ok = true;
  return tables;
}

}  // namespace heap
}  // namespace sockprobe
