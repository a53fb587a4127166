// glibc malloc: mallinfo2, malloc_info, malloc_stats, malloc_trim — all resolved with dlsym
// so the addon loads on glibc < 2.33 and on musl, where these are absent.
#include <cstdio>
#include <cstdlib>

#include "common/symbols.h"
#include "malloc/allocators.h"

namespace sockprobe {

bool GlibcMallinfo2(Mallinfo2* out) {
  using Fn = Mallinfo2 (*)();
  static const Fn fn = GlobalFunction<Fn>("mallinfo2");
  if (fn == nullptr) return false;
  *out = fn();
  return true;
}

// Runs `write` against a memory stream and hands back what it wrote.
template <typename Write>
static bool CaptureStream(std::string* out, Write write) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  if (stream == nullptr) return false;
  bool ok = write(stream);
  fclose(stream);
  if (ok && buffer != nullptr) out->assign(buffer, size);
  free(buffer);
  return ok;
}

bool GlibcMallocInfoXml(std::string* out) {
  using Fn = int (*)(int, FILE*);
  static const Fn fn = GlobalFunction<Fn>("malloc_info");
  if (fn == nullptr) return false;
  return CaptureStream(out, [](FILE* stream) { return fn(0, stream) == 0; });
}

// malloc_stats() prints to stderr only; we point `stderr` at a memory stream for the call.
// Another thread's stdio write to stderr during this window would land in our text;
// Node and libuv write to fd 2 directly, not through stdio, so in practice nothing does.
bool GlibcMallocStatsText(std::string* out) {
  using Fn = void (*)();
  static const Fn fn = GlobalFunction<Fn>("malloc_stats");
  if (fn == nullptr || GlibcVersion() == nullptr) return false;
  return CaptureStream(out, [](FILE* stream) {
    FILE* saved = stderr;
    stderr = stream;
    fn();
    stderr = saved;
    return true;
  });
}

bool GlibcTrim(int* released_flag) {
  using Fn = int (*)(size_t);
  static const Fn fn = GlobalFunction<Fn>("malloc_trim");
  if (fn == nullptr) return false;
  *released_flag = fn(0);
  return true;
}

const char* GlibcVersion() {
  using Fn = const char* (*)();
  static const Fn fn = GlobalFunction<Fn>("gnu_get_libc_version");
  return fn == nullptr ? nullptr : fn();
}

}  // namespace sockprobe
