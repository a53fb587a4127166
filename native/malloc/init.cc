// N-API surface of the malloc concern: a flat table of small functions. Validation and
// normalisation live in TypeScript (src/memory/); this file converts and reports errors.
#include <napi.h>

#include "common/malloc_owner.h"
#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "malloc/allocators.h"
#include "malloc/kind_argument.h"
#include "malloc/release.h"

namespace sockprobe {

static Napi::Value ThrowNotServing(Napi::Env env, AllocatorKind kind) {
  return ThrowCoded(env, "ERR_ALLOCATOR_NOT_SERVING",
                    std::string(AllocatorName(kind)) + " is not the allocator serving malloc in this process");
}

static Napi::Object NumbersObject(Napi::Env env, const NamedSizes& values) {
  Napi::Object result = Napi::Object::New(env);
  for (const auto& entry : values) result.Set(entry.first, SizeValue(env, entry.second));
  return result;
}

static Napi::Value MallocOwnerInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MallocOwner& owner = GetMallocOwner();
  Napi::Object result = Napi::Object::New(env);
  result.Set("path", Napi::String::New(env, owner.path));
  // Which allocator API the object serving malloc exports (not what exists elsewhere).
  result.Set("glibc", Napi::Boolean::New(env, OwnerSymbol("gnu_get_libc_version") != nullptr));
  result.Set("jemalloc",
             Napi::Boolean::New(env, OwnerSymbol("mallctl") != nullptr || OwnerSymbol("je_mallctl") != nullptr));
  result.Set("tcmalloc", Napi::Boolean::New(env, OwnerSymbol("MallocExtension_GetNumericProperty") != nullptr));
  result.Set("mimalloc", Napi::Boolean::New(env, OwnerSymbol("mi_version") != nullptr));
  result.Set("mallinfo2", Napi::Boolean::New(env, OwnerSymbol("mallinfo2") != nullptr));
  result.Set("mallocTrim", Napi::Boolean::New(env, OwnerSymbol("malloc_trim") != nullptr));
  const char* glibc = GlibcVersion();
  const char* jemalloc = JemallocVersion();
  const char* tcmalloc = TcmallocVersion();
  const int mimalloc = MimallocVersion();
  result.Set("glibcVersion", glibc ? Napi::Value(Napi::String::New(env, glibc)) : env.Null());
  result.Set("jemallocVersion", jemalloc ? Napi::Value(Napi::String::New(env, jemalloc)) : env.Null());
  result.Set("tcmallocVersion", tcmalloc ? Napi::Value(Napi::String::New(env, tcmalloc)) : env.Null());
  result.Set("mimallocVersion", mimalloc >= 0 ? Napi::Value(Napi::Number::New(env, mimalloc)) : env.Null());
  return result;
}

static Napi::Value Mallinfo2Values(const Napi::CallbackInfo& info) {
  NamedSizes values;
  if (!AllocatorNumbersOf(AllocatorKind::kGlibc, &values))
    return ThrowCoded(info.Env(), "ERR_UNSUPPORTED", "mallinfo2 is not available in this libc (glibc >= 2.33 needed)");
  return NumbersObject(info.Env(), values);
}

static Napi::Value MallocInfoXml(const Napi::CallbackInfo& info) {
  std::string xml;
  if (!GlibcMallocInfoXml(&xml))
    return ThrowCoded(info.Env(), "ERR_UNSUPPORTED", "malloc_info is not available in this libc");
  return Napi::String::New(info.Env(), xml);
}

// Numeric stats of one allocator as an object of name -> bytes (or count).
static Napi::Value AllocatorNumbers(const Napi::CallbackInfo& info) {
  AllocatorKind kind;
  if (!KindArgument(info, {AllocatorKind::kJemalloc, AllocatorKind::kTcmalloc, AllocatorKind::kMimalloc}, &kind))
    return info.Env().Undefined();
  NamedSizes values;
  if (!AllocatorNumbersOf(kind, &values)) return ThrowNotServing(info.Env(), kind);
  return NumbersObject(info.Env(), values);
}

// The allocator's own human-readable statistics text, for reference and cross-checks.
static Napi::Value AllocatorStatsText(const Napi::CallbackInfo& info) {
  AllocatorKind kind;
  if (!KindArgument(info, {AllocatorKind::kGlibc, AllocatorKind::kTcmalloc, AllocatorKind::kMimalloc}, &kind))
    return info.Env().Undefined();
  std::string text;
  if (!AllocatorStatsTextOf(kind, &text)) return ThrowNotServing(info.Env(), kind);
  return Napi::String::New(info.Env(), text);
}

// allocatorNumbersAsync(kind): the same figures as allocatorNumbers/mallinfo2, read on the
// threadpool. mallinfo2 walks and locks every arena (milliseconds after a connection spike
// leaves many free chunks), so a sampler must not run it on the JS thread.
static Napi::Value AllocatorNumbersAsync(const Napi::CallbackInfo& info) {
  AllocatorKind kind;
  if (!KindArgument(info, kEveryKind, &kind)) return info.Env().Undefined();
  struct Read {
    bool ok = false;
    NamedSizes values;
  };
  return PromiseWorker<Read>::Queue(
      info.Env(), "sockprobe:allocatorNumbers",
      [kind] {
        Read read;
        read.ok = AllocatorNumbersOf(kind, &read.values);
        return read;
      },
      [kind](Napi::Env env, Read& read) -> Napi::Value {
        return read.ok ? Napi::Value(NumbersObject(env, read.values)) : ThrowNotServing(env, kind);
      });
}

static Napi::Object OutcomeObject(Napi::Env env, const ReleaseOutcome& outcome) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("flag", Napi::Number::New(env, outcome.flag));
  result.Set("done", Napi::Boolean::New(env, outcome.done));
  result.Set("durationNs", SizeValue(env, outcome.duration_ns));
  result.Set("threadCpuNs", SizeValue(env, outcome.thread_cpu_ns));
  return result;
}

// The outcome, or the coded error when that allocator does not serve malloc here; run on the
// JS thread or, when asked, on the threadpool.
template <typename Run>
static Napi::Value SettleRelease(Napi::Env env, AllocatorKind kind, bool on_threadpool, const char* resource, Run run) {
  auto settle = [kind](Napi::Env env, ReleaseOutcome& outcome) -> Napi::Value {
    return outcome.supported ? Napi::Value(OutcomeObject(env, outcome)) : ThrowNotServing(env, kind);
  };
  if (on_threadpool) return PromiseWorker<ReleaseOutcome>::Queue(env, resource, run, settle);
  ReleaseOutcome outcome = run();
  return settle(env, outcome);
}

// release(kind, onThreadpool): the trim itself, timed where it runs.
static Napi::Value Release(const Napi::CallbackInfo& info) {
  AllocatorKind kind;
  if (!KindArgument(info, kEveryKind, &kind)) return info.Env().Undefined();
  const bool on_threadpool = info.Length() > 1 && info[1].ToBoolean().Value();
  return SettleRelease(info.Env(), kind, on_threadpool, "sockprobe:release",
                       [kind] { return ReleaseFreeMemory(kind); });
}

// releaseSlice(kind, index, budgetBytes, onThreadpool): one bounded slice of a release.
static Napi::Value ReleaseSliceCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorKind kind;
  if (!KindArgument(info, kEveryKind, &kind)) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber())
    return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected numbers for index and budgetBytes", 0, nullptr, true);
  const double index = info[1].As<Napi::Number>().DoubleValue();
  const double budget = info[2].As<Napi::Number>().DoubleValue();
  if (!(index >= 0 && index < 65536) || !(budget >= 4096 && budget <= 1099511627776.0)) {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected 0 <= index < 65536 and 4096 <= budgetBytes <= 2^40", 0,
                      nullptr, true);
  }
  const unsigned slice = static_cast<unsigned>(index);
  const size_t budget_bytes = static_cast<size_t>(budget);
  const bool on_threadpool = info.Length() > 3 && info[3].ToBoolean().Value();
  return SettleRelease(env, kind, on_threadpool, "sockprobe:release-slice",
                       [kind, slice, budget_bytes] { return ReleaseSlice(kind, slice, budget_bytes); });
}

// releaseThreadCache(kind): the calling (JS) thread's allocator cache back to shared lists.
static Napi::Value ReleaseThreadCacheCall(const Napi::CallbackInfo& info) {
  AllocatorKind kind;
  if (!KindArgument(info, kEveryKind, &kind)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), ReleaseThreadCache(kind));
}

Napi::Value ReleaseThreadpoolCaches(const Napi::CallbackInfo& info);  // threadpool_caches.cc

void InitMalloc(Napi::Env env, Napi::Object exports) {
  exports.Set("allocatorNumbersAsync", Napi::Function::New(env, AllocatorNumbersAsync, "allocatorNumbersAsync"));
  exports.Set("mallocOwner", Napi::Function::New(env, MallocOwnerInfo, "mallocOwner"));
  exports.Set("mallinfo2", Napi::Function::New(env, Mallinfo2Values, "mallinfo2"));
  exports.Set("mallocInfoXml", Napi::Function::New(env, MallocInfoXml, "mallocInfoXml"));
  exports.Set("allocatorNumbers", Napi::Function::New(env, AllocatorNumbers, "allocatorNumbers"));
  exports.Set("allocatorStatsText", Napi::Function::New(env, AllocatorStatsText, "allocatorStatsText"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("releaseSlice", Napi::Function::New(env, ReleaseSliceCall, "releaseSlice"));
  exports.Set("releaseThreadCache", Napi::Function::New(env, ReleaseThreadCacheCall, "releaseThreadCache"));
  exports.Set("releaseThreadpoolCaches", Napi::Function::New(env, ReleaseThreadpoolCaches, "releaseThreadpoolCaches"));
}

}  // namespace sockprobe
