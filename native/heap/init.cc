// N-API surface of the native heap profiler: flat functions; src/native-heap/ shapes the
// results and rebuilds errors. Nothing here throws C++.
#include <napi.h>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "heap/session.h"

namespace sockprobe {

namespace {

Napi::Value HeapProblem(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), heap::Problem());
}

Napi::Value HeapProblemAsync(const Napi::CallbackInfo& info) {
  return PromiseWorker<std::string>::Queue(
      info.Env(), "sockprobe:heapProblem", [] { return heap::Problem(); },
      [](Napi::Env env, std::string& problem) -> Napi::Value { return Napi::String::New(env, problem); });
}

Napi::Value HeapStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a number for sampleBytes", 0, nullptr, true);
  const double sample_bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(sample_bytes >= 1 && sample_bytes <= 9007199254740991.0) || std::floor(sample_bytes) != sample_bytes) {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected a positive integer for sampleBytes", 0, nullptr, true);
  }
  const char* code = "ERR_UNSUPPORTED";
  std::string why;
  if (!heap::Start(static_cast<uint64_t>(sample_bytes), &code, &why)) return ThrowCoded(env, code, why);
  return env.Undefined();
}

Napi::Value HeapStop(const Napi::CallbackInfo& info) {
  heap::Stop();
  return info.Env().Undefined();
}

Napi::Value HeapStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const heap::Status status = heap::ReadStatus();
  Napi::Object result = Napi::Object::New(env);
  result.Set("active", Napi::Boolean::New(env, status.active));
  result.Set("sampleBytes", SizeValue(env, status.sample_bytes));
  result.Set("patchedSlots", SizeValue(env, status.patched_slots));
  result.Set("dropped", SizeValue(env, status.dropped));
  result.Set("restoreLeft", SizeValue(env, status.restore_left));
  return result;
}

const char* KindName(heap::FrameKind kind) {
  switch (kind) {
    case heap::FrameKind::kNative: return "native";
    case heap::FrameKind::kJavascript: return "javascript";
    default: return "unknown";
  }
}

Napi::Value ProfileValue(Napi::Env env, heap::RawProfile& profile) {
  if (!profile.ok) return ThrowCoded(env, profile.code, profile.error);
  Napi::Object result = Napi::Object::New(env);
  result.Set("sampleBytes", SizeValue(env, profile.sample_bytes));
  result.Set("startedAt", Napi::Number::New(env, profile.started_at));
  result.Set("takenAt", Napi::Number::New(env, profile.taken_at));
  result.Set("dropped", SizeValue(env, profile.dropped));
  result.Set("patchedSlots", SizeValue(env, profile.patched_slots));
  result.Set("executable", Napi::String::New(env, profile.executable));
  result.Set("allocatorObject", Napi::String::New(env, profile.allocator_object));
  Napi::Array frames = Napi::Array::New(env, profile.frames.size());
  for (size_t i = 0; i < profile.frames.size(); ++i) {
    const heap::FrameInfo& f = profile.frames[i];
    Napi::Object frame = Napi::Object::New(env);
    char hex[24];
    snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(f.address));
    frame.Set("address", Napi::String::New(env, hex));
    frame.Set("name", f.name.empty() ? env.Null() : Napi::String::New(env, f.name));
    frame.Set("module", f.module.empty() ? env.Null() : Napi::String::New(env, f.module));
    if (!f.module.empty()) frame.Set("offset", SizeValue(env, f.offset));
    frame.Set("kind", Napi::String::New(env, KindName(f.kind)));
    frames.Set(static_cast<uint32_t>(i), frame);
  }
  result.Set("frames", frames);
  Napi::Array sites = Napi::Array::New(env, profile.sites.size());
  for (size_t i = 0; i < profile.sites.size(); ++i) {
    const heap::RawSite& s = profile.sites[i];
    Napi::Object site = Napi::Object::New(env);
    site.Set("bytes", Napi::Number::New(env, s.bytes));
    site.Set("count", Napi::Number::New(env, s.count));
    site.Set("samples", SizeValue(env, s.samples));
    Napi::Array stack = Napi::Array::New(env, s.stack.size());
    for (size_t j = 0; j < s.stack.size(); ++j) stack.Set(static_cast<uint32_t>(j), Napi::Number::New(env, s.stack[j]));
    site.Set("stack", stack);
    sites.Set(static_cast<uint32_t>(i), site);
  }
  result.Set("sites", sites);
  return result;
}

// For bench/native-heap.mjs only: `count` blocks of `size` bytes allocated and then freed
// through the ordinary PLT path (the executable's malloc/free slots, hooked or not), timed
// apart. Returns [ns per malloc, ns per free].
Napi::Value HeapBenchFrees(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected numbers for count and size", 0, nullptr, true);
  const int64_t count = info[0].As<Napi::Number>().Int64Value();
  const int64_t size = info[1].As<Napi::Number>().Int64Value();
  // Bounded so that no call can hold more than 40 MB.
  if (count < 1 || count > 10000 || size < 1 || size > 4096) return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "count must be 1..10000 and size 1..4096", 0, nullptr, true);
  std::vector<void*> blocks(static_cast<size_t>(count));
  const auto now = [] { timespec ts{}; clock_gettime(CLOCK_MONOTONIC, &ts); return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec); };
  const double t0 = now();
  for (auto& block : blocks) block = malloc(static_cast<size_t>(size));
  const double t1 = now();
  for (auto* block : blocks) free(block);
  const double t2 = now();
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, (t1 - t0) / static_cast<double>(count)));
  result.Set(1u, Napi::Number::New(env, (t2 - t1) / static_cast<double>(count)));
  return result;
}

Napi::Value HeapProfile(const Napi::CallbackInfo& info) {
  return PromiseWorker<heap::RawProfile>::Queue(info.Env(), "sockprobe:heapProfile", [] { return heap::TakeProfile(); }, ProfileValue);
}

}  // namespace

void InitHeap(Napi::Env env, Napi::Object exports) {
  exports.Set("heapProblem", Napi::Function::New(env, HeapProblem, "heapProblem"));
  exports.Set("heapProblemAsync", Napi::Function::New(env, HeapProblemAsync, "heapProblemAsync"));
  exports.Set("heapStart", Napi::Function::New(env, HeapStart, "heapStart"));
  exports.Set("heapStop", Napi::Function::New(env, HeapStop, "heapStop"));
  exports.Set("heapStatus", Napi::Function::New(env, HeapStatus, "heapStatus"));
  exports.Set("heapBenchFrees", Napi::Function::New(env, HeapBenchFrees, "heapBenchFrees"));
  exports.Set("heapProfile", Napi::Function::New(env, HeapProfile, "heapProfile"));
}

}  // namespace sockprobe
