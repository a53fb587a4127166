// The one place that picks an allocator's call by kind, for figures and statistics text.
#include "malloc/allocators.h"

namespace sockprobe {

static bool GlibcNumbers(NamedSizes* out) {
  Mallinfo2 m{};
  if (!GlibcMallinfo2(&m)) return false;
  *out = {{"arena", m.arena},       {"ordblks", m.ordblks},  {"smblks", m.smblks},   {"hblks", m.hblks},
          {"hblkhd", m.hblkhd},     {"usmblks", m.usmblks},  {"fsmblks", m.fsmblks}, {"uordblks", m.uordblks},
          {"fordblks", m.fordblks}, {"keepcost", m.keepcost}};
  return true;
}

bool AllocatorNumbersOf(AllocatorKind kind, NamedSizes* out) {
  switch (kind) {
    case AllocatorKind::kGlibc: return GlibcNumbers(out);
    case AllocatorKind::kJemalloc: return JemallocStats(out);
    case AllocatorKind::kTcmalloc: return TcmallocStats(out);
    case AllocatorKind::kMimalloc: return MimallocStats(out);
  }
  return false;
}

bool AllocatorStatsTextOf(AllocatorKind kind, std::string* out) {
  switch (kind) {
    case AllocatorKind::kGlibc: return GlibcMallocStatsText(out);
    case AllocatorKind::kTcmalloc: return TcmallocStatsText(out);
    case AllocatorKind::kMimalloc: return MimallocStatsText(out);
    case AllocatorKind::kJemalloc: return false;
  }
  return false;
}

}  // namespace sockprobe
