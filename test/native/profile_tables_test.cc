// The profile's flat tables (native/heap/profile_tables.*): sites merged by stack and sorted by
// bytes, frames numbered in order of first use, names and modules interned, every section
// aligned and inside the block.
#include "heap/profile_tables.h"

#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "check.h"

using namespace sockprobe::heap;

namespace {

FrameInfo Frame(uintptr_t address, const std::string& name, const std::string& module, uint64_t offset,
                FrameKind kind) {
  FrameInfo frame;
  frame.address = address;
  frame.name = name;
  frame.module = module;
  frame.offset = offset;
  frame.kind = kind;
  return frame;
}

RawSite Site(double bytes, double count, uint64_t samples, std::vector<uint32_t> stack) {
  RawSite site;
  site.bytes = bytes;
  site.count = count;
  site.samples = samples;
  site.stack = std::move(stack);
  return site;
}

size_t ElementSize(ElementType type) {
  switch (type) {
    case ElementType::kFloat64: return 8;
    case ElementType::kUint8: return 1;
    default: return 4;
  }
}

const TableSection* Find(const ProfileTables& tables, const char* table, const char* name) {
  for (const TableSection& section : tables.sections) {
    if (std::strcmp(section.table, table) == 0 && std::strcmp(section.name, name) == 0) return &section;
  }
  return nullptr;
}

template <typename T>
std::vector<T> Column(const ProfileTables& tables, const char* table, const char* name) {
  const TableSection* section = Find(tables, table, name);
  if (section == nullptr || ElementSize(section->type) != sizeof(T)) {
    check::Fail(__FILE__, __LINE__, std::string("no column ") + table + "." + name + " of that element size");
    return {};
  }
  std::vector<T> values(section->length);
  if (section->length > 0)
    std::memcpy(values.data(), tables.block.data() + section->byte_offset, section->length * sizeof(T));
  return values;
}

// The strings table split at its NULs.
std::vector<std::string> Strings(const ProfileTables& tables) {
  std::vector<std::string> strings;
  size_t start = 0;
  for (size_t i = 0; i < tables.strings.size(); ++i) {
    if (tables.strings[i] != '\0') continue;
    strings.push_back(tables.strings.substr(start, i - start));
    start = i + 1;
  }
  CHECK_EQ(start, tables.strings.size());  // every string ends in NUL
  return strings;
}

void CheckLayout(const ProfileTables& tables) {
  CHECK(tables.ok);
  CHECK_EQ(tables.sections.size(), 10u);
  size_t total = 0;
  for (const TableSection& section : tables.sections) {
    const size_t element = ElementSize(section.type);
    CHECK_EQ(section.byte_offset % element, 0u);
    CHECK(section.byte_offset + section.length * element <= tables.block.bytes());
    for (const TableSection& other : tables.sections) {
      if (&other == &section || other.length == 0 || section.length == 0) continue;
      const bool apart = other.byte_offset >= section.byte_offset + section.length * element ||
                         section.byte_offset >= other.byte_offset + other.length * ElementSize(other.type);
      CHECK(apart);
    }
    total += section.length * element;
  }
  CHECK_EQ(total, tables.block.bytes());
}

}  // namespace

TEST(profile_tables_merge_sort_and_number) {
  const std::vector<FrameInfo> frames = {
      Frame(0x7f0000001000, "malloc_caller", "/lib/libfoo.so", 0x1000, FrameKind::kNative),
      Frame(0x7f0000002000, "main", "/usr/bin/node", 0x2000, FrameKind::kNative),
      Frame(0x3000, "", "", 0x3000, FrameKind::kJavascript),
      Frame(0x7f0000004000, "malloc_caller", "/lib/libfoo.so", 0x4000, FrameKind::kUnknown),
      Frame(0x5000, "never_reached", "/lib/other.so", 0x5000, FrameKind::kNative),
  };
  std::vector<RawSite> sites;
  sites.push_back(Site(100, 1, 1, {0, 1}));
  sites.push_back(Site(500, 5, 2, {2, 3}));
  sites.push_back(Site(50, 2, 1, {0, 1}));  // the first site's stack: merged into it
  ProfileTables tables = Tabulate(frames, std::move(sites));
  CheckLayout(tables);
  CHECK_EQ(Column<double>(tables, "sites", "bytes"), (std::vector<double>{500, 150}));
  CHECK_EQ(Column<double>(tables, "sites", "counts"), (std::vector<double>{5, 3}));
  CHECK_EQ(Column<double>(tables, "sites", "samples"), (std::vector<double>{2, 2}));
  CHECK_EQ(Column<uint32_t>(tables, "sites", "stackLengths"), (std::vector<uint32_t>{2, 2}));
  // Frames numbered as the sorted sites first reach them; frame 4 is reached by none.
  CHECK_EQ(Column<uint32_t>(tables, "sites", "stackFrames"), (std::vector<uint32_t>{0, 1, 2, 3}));
  CHECK_EQ(Column<uint32_t>(tables, "frames", "addresses"),
           (std::vector<uint32_t>{0, 0x3000, 0x7f00, 0x4000, 0x7f00, 0x1000, 0x7f00, 0x2000}));
  const std::vector<std::string> strings = Strings(tables);
  CHECK_EQ(strings, (std::vector<std::string>{"malloc_caller", "/lib/libfoo.so", "main", "/usr/bin/node"}));
  CHECK_EQ(Column<int32_t>(tables, "frames", "names"), (std::vector<int32_t>{-1, 0, 0, 2}));
  CHECK_EQ(Column<int32_t>(tables, "frames", "modules"), (std::vector<int32_t>{-1, 1, 1, 3}));
  CHECK_EQ(Column<double>(tables, "frames", "offsets"), (std::vector<double>{0, 0x4000, 0x1000, 0x2000}));
  const std::vector<uint8_t> kinds = Column<uint8_t>(tables, "frames", "kinds");
  const std::vector<std::string> expected_kinds = {"javascript", "unknown", "native", "native"};
  CHECK_EQ(kinds.size(), expected_kinds.size());
  for (size_t i = 0; i < kinds.size() && i < expected_kinds.size(); ++i) {
    CHECK(kinds[i] < std::size(kFrameKindNames));
    if (kinds[i] < std::size(kFrameKindNames)) CHECK_EQ(std::string(kFrameKindNames[kinds[i]]), expected_kinds[i]);
  }
}

TEST(profile_tables_empty_profile) {
  ProfileTables tables = Tabulate({}, {});
  CheckLayout(tables);
  CHECK(tables.block.data() != nullptr);
  CHECK_EQ(tables.block.bytes(), 0u);
  CHECK(tables.strings.empty());
}

// A stack index past the frames given is left out of the site's stack, never read.
TEST(profile_tables_out_of_range_frame_is_skipped) {
  const std::vector<FrameInfo> frames = {Frame(0x1000, "f", "m", 0, FrameKind::kNative)};
  std::vector<RawSite> sites;
  sites.push_back(Site(10, 1, 1, {0, 1, 0xffffffffu}));
  ProfileTables tables = Tabulate(frames, std::move(sites));
  CheckLayout(tables);
  CHECK_EQ(Column<uint32_t>(tables, "sites", "stackLengths"), (std::vector<uint32_t>{1}));
  CHECK_EQ(Column<uint32_t>(tables, "sites", "stackFrames"), (std::vector<uint32_t>{0}));
  CHECK_EQ(Column<uint32_t>(tables, "frames", "addresses").size(), 2u);
}

// Many sites: every one kept in order of bytes, each stack read back as given.
TEST(profile_tables_many_sites_round_trip) {
  std::vector<FrameInfo> frames;
  for (uint32_t i = 0; i < 1000; ++i)
    frames.push_back(Frame(0x400000 + i, "fn" + std::to_string(i % 10), "", 0, FrameKind::kNative));
  std::vector<RawSite> sites;
  for (uint32_t i = 0; i < 3000; ++i) sites.push_back(Site(i % 997, 1, 1, {i % 1000, (i * 7 + 1) % 1000, i / 3}));
  ProfileTables tables = Tabulate(frames, std::move(sites));
  CheckLayout(tables);
  const std::vector<double> bytes = Column<double>(tables, "sites", "bytes");
  for (size_t i = 1; i < bytes.size(); ++i) CHECK(bytes[i - 1] >= bytes[i]);
  const std::vector<uint32_t> lengths = Column<uint32_t>(tables, "sites", "stackLengths");
  const std::vector<uint32_t> stack_frames = Column<uint32_t>(tables, "sites", "stackFrames");
  const std::vector<uint32_t> addresses = Column<uint32_t>(tables, "frames", "addresses");
  size_t total = 0;
  for (uint32_t length : lengths) total += length;
  CHECK_EQ(total, stack_frames.size());
  for (uint32_t index : stack_frames) CHECK(2 * index + 1 < addresses.size());
  CHECK_EQ(Strings(tables).size(), 10u);  // ten distinct names, no module
  CHECK_EQ(Column<int32_t>(tables, "frames", "modules"), std::vector<int32_t>(addresses.size() / 2, -1));
}

TEST(table_block_moves_and_releases) {
  TableBlock a(64);
  CHECK(a.data() != nullptr);
  CHECK_EQ(a.bytes(), 64u);
  unsigned char* data = a.data();
  TableBlock b(std::move(a));
  CHECK(a.data() == nullptr);
  CHECK_EQ(a.bytes(), 0u);
  CHECK(b.data() == data);
  TableBlock c;
  c = std::move(b);
  CHECK(c.data() == data);
  unsigned char* released = c.Release();
  CHECK(released == data);
  CHECK(c.data() == nullptr);
  free(released);
}

// malloc refusing the block leaves it empty, never a block claiming bytes it lacks.
TEST(table_block_refused_by_malloc_is_empty) {
  TableBlock huge(SIZE_MAX / 2);
  CHECK(huge.data() == nullptr);
  CHECK_EQ(huge.bytes(), 0u);
}
