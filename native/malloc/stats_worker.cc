// allocatorNumbersAsync(kind): the same figures as allocatorNumbers/mallinfo2, read on the
// threadpool. mallinfo2 walks and locks every arena (milliseconds after a connection spike
// leaves many free chunks), so a sampler must not run it on the JS thread.
#include <napi.h>

#include "common/napi_util.h"
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

class StatsWorker : public Napi::AsyncWorker {
 public:
  StatsWorker(Napi::Env env, std::string kind)
      : Napi::AsyncWorker(env, "sockprobe:allocatorNumbers"), kind_(std::move(kind)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { ok_ = ReadNumbers(kind_, &values_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      Napi::Error error = Napi::Error::New(env, kind_ + " is not the allocator serving malloc in this process");
      error.Set("code", Napi::String::New(env, "ERR_ALLOCATOR_NOT_SERVING"));
      deferred_.Reject(error.Value());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    for (const auto& entry : values_) result.Set(entry.first, SizeValue(env, entry.second));
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  std::string kind_;
  bool ok_ = false;
  NamedSizes values_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

Napi::Value AllocatorNumbersAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  const std::string kind = info[0].As<Napi::String>();
  if (kind != "glibc" && kind != "jemalloc" && kind != "tcmalloc" && kind != "mimalloc") {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected glibc, jemalloc, tcmalloc or mimalloc for kind but received " + kind, 0, nullptr, true);
  }
  auto* worker = new StatsWorker(env, kind);  // deleted by N-API after OnOK/OnError
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace sockprobe
