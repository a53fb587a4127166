#include "heap/maps.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace sockprobe {
namespace heap {

namespace {

bool ReadFile(const char* path, std::string* out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return !out->empty();
}

// "start-end perms offset dev inode   path"
bool ParseLine(const char* line, const char* end, Mapping* out) {
  char* cursor = nullptr;
  out->start = strtoull(line, &cursor, 16);
  if (cursor >= end || *cursor != '-') return false;
  out->end = strtoull(cursor + 1, &cursor, 16);
  if (cursor + 5 > end || *cursor != ' ') return false;
  const char* perms = cursor + 1;
  out->prot =
      (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
  // Offset (hex), device (hex major:minor) and inode (decimal), then the path (if any).
  const char* p = perms + 4;
  out->file_offset = strtoull(p, &cursor, 16);
  if (cursor >= end || *cursor != ' ') return false;
  const uint64_t major = strtoull(cursor + 1, &cursor, 16);
  if (cursor >= end || *cursor != ':') return false;
  const uint64_t minor = strtoull(cursor + 1, &cursor, 16);
  if (cursor >= end || *cursor != ' ') return false;
  out->device = (major << 32) | minor;
  out->inode = strtoull(cursor + 1, &cursor, 10);
  if (cursor > end) return false;
  p = cursor;
  while (p < end && *p == ' ') ++p;
  out->anonymous = p == end;
  out->stack = static_cast<size_t>(end - p) >= 7 && memcmp(p, "[stack]", 7) == 0;
  return out->end > out->start;
}

}  // namespace

Maps Maps::ReadSelf() {
  Maps maps;
  std::string text;
  if (!ReadFile("/proc/self/maps", &text)) return maps;
  const char* line = text.data();
  const char* limit = text.data() + text.size();
  while (line < limit) {
    const char* end = static_cast<const char*>(memchr(line, '\n', static_cast<size_t>(limit - line)));
    if (end == nullptr) end = limit;
    Mapping mapping{};
    if (ParseLine(line, end, &mapping)) maps.mappings_.push_back(mapping);
    line = end + 1;
  }
  std::sort(maps.mappings_.begin(), maps.mappings_.end(),
            [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return maps;
}

const Mapping* Maps::Find(uintptr_t address) const {
  auto it = std::upper_bound(mappings_.begin(), mappings_.end(), address,
                             [](uintptr_t a, const Mapping& m) { return a < m.start; });
  if (it == mappings_.begin()) return nullptr;
  --it;
  return address < it->end ? &*it : nullptr;
}

const Mapping* Maps::OtherMappingOfFile(const Mapping& mapping, uint64_t file_offset) const {
  if (mapping.inode == 0) return nullptr;
  for (const Mapping& m : mappings_) {
    if (&m == &mapping || m.inode != mapping.inode || m.device != mapping.device) continue;
    if (file_offset >= m.file_offset && file_offset - m.file_offset < m.end - m.start) return &m;
  }
  return nullptr;
}

const Mapping* Maps::MainStack() const {
  for (const Mapping& m : mappings_) {
    if (m.stack) return &m;
  }
  return nullptr;
}

}  // namespace heap
}  // namespace sockprobe
