// allocatorNumbersAsync(kind): the same figures as allocatorNumbers/mallinfo2, read on the
// threadpool. mallinfo2 walks and locks every arena (milliseconds after a connection spike
// leaves many free chunks), so a sampler must not run it on the JS thread.
#include <napi.h>

#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "malloc/allocators.h"

namespace sockprobe {

namespace {

bool ReadNumbers(const std::string& kind, NamedSizes* out) {
  if (kind == "glibc") {
    Mallinfo2 m{};
    if (!GlibcMallinfo2(&m)) return false;
    *out = {{"arena", m.arena},       {"ordblks", m.ordblks},   {"smblks", m.smblks},   {"hblks", m.hblks},
            {"hblkhd", m.hblkhd},     {"usmblks", m.usmblks},   {"fsmblks", m.fsmblks}, {"uordblks", m.uordblks},
            {"fordblks", m.fordblks}, {"keepcost", m.keepcost}};
    return true;
  }
  if (kind == "jemalloc") return JemallocStats(out);
  if (kind == "tcmalloc") return TcmallocStats(out);
  if (kind == "mimalloc") return MimallocStats(out);
  return false;
}

}  // namespace

Napi::Value AllocatorNumbersAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  const std::string kind = info[0].As<Napi::String>();
  if (kind != "glibc" && kind != "jemalloc" && kind != "tcmalloc" && kind != "mimalloc") {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected glibc, jemalloc, tcmalloc or mimalloc for kind but received " + kind, 0, nullptr, true);
  }
  struct Read {
    bool ok = false;
    NamedSizes values;
  };
  return PromiseWorker<Read>::Queue(
      env, "sockprobe:allocatorNumbers",
      [kind] {
        Read read;
        read.ok = ReadNumbers(kind, &read.values);
        return read;
      },
      [kind](Napi::Env env, Read& read) -> Napi::Value {
        if (!read.ok) return ThrowCoded(env, "ERR_ALLOCATOR_NOT_SERVING", kind + " is not the allocator serving malloc in this process");
        Napi::Object result = Napi::Object::New(env);
        for (const auto& entry : read.values) result.Set(entry.first, SizeValue(env, entry.second));
        return result;
      });
}

}  // namespace sockprobe
