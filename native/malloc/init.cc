// N-API surface of the malloc concern: a flat table of small functions. Validation and
// normalisation live in TypeScript (src/memory/); this file converts and reports errors.
#include <napi.h>

#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "malloc/allocators.h"
#include "malloc/owner.h"
#include "malloc/release.h"

namespace sockprobe {

static const char kNotServing[] = "ERR_ALLOCATOR_NOT_SERVING";

static Napi::Value MallocOwnerInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MallocOwner& owner = GetMallocOwner();
  Napi::Object result = Napi::Object::New(env);
  result.Set("path", Napi::String::New(env, owner.path));
  // Which allocator API the object serving malloc exports (not what exists elsewhere).
  result.Set("glibc", Napi::Boolean::New(env, OwnerSymbol("gnu_get_libc_version") != nullptr));
  result.Set("jemalloc", Napi::Boolean::New(env, OwnerSymbol("mallctl") != nullptr || OwnerSymbol("je_mallctl") != nullptr));
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
  Napi::Env env = info.Env();
  Mallinfo2 m{};
  if (!GlibcMallinfo2(&m)) return ThrowCoded(env, "ERR_UNSUPPORTED", "mallinfo2 is not available in this libc (glibc >= 2.33 needed)");
  Napi::Object result = Napi::Object::New(env);
  result.Set("arena", SizeValue(env, m.arena));
  result.Set("ordblks", SizeValue(env, m.ordblks));
  result.Set("smblks", SizeValue(env, m.smblks));
  result.Set("hblks", SizeValue(env, m.hblks));
  result.Set("hblkhd", SizeValue(env, m.hblkhd));
  result.Set("usmblks", SizeValue(env, m.usmblks));
  result.Set("fsmblks", SizeValue(env, m.fsmblks));
  result.Set("uordblks", SizeValue(env, m.uordblks));
  result.Set("fordblks", SizeValue(env, m.fordblks));
  result.Set("keepcost", SizeValue(env, m.keepcost));
  return result;
}

static Napi::Value MallocInfoXml(const Napi::CallbackInfo& info) {
  std::string xml;
  if (!GlibcMallocInfoXml(&xml)) return ThrowCoded(info.Env(), "ERR_UNSUPPORTED", "malloc_info is not available in this libc");
  return Napi::String::New(info.Env(), xml);
}

// Numeric stats of one allocator as an object of name -> bytes (or count).
static Napi::Value AllocatorNumbers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  const std::string kind = info[0].As<Napi::String>();
  NamedSizes values;
  bool ok = false;
  if (kind == "jemalloc") ok = JemallocStats(&values);
  else if (kind == "tcmalloc") ok = TcmallocStats(&values);
  else if (kind == "mimalloc") ok = MimallocStats(&values);
  else return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected jemalloc, tcmalloc or mimalloc for kind but received " + kind, 0, nullptr, true);
  if (!ok) return ThrowCoded(env, kNotServing, kind + " is not the allocator serving malloc in this process");
  Napi::Object result = Napi::Object::New(env);
  for (const auto& entry : values) result.Set(entry.first, SizeValue(env, entry.second));
  return result;
}

// The allocator's own human-readable statistics text, for reference and cross-checks.
static Napi::Value AllocatorStatsText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  const std::string kind = info[0].As<Napi::String>();
  std::string text;
  bool ok = false;
  if (kind == "glibc") ok = GlibcMallocStatsText(&text);
  else if (kind == "tcmalloc") ok = TcmallocStatsText(&text);
  else if (kind == "mimalloc") ok = MimallocStatsText(&text);
  else return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected glibc, tcmalloc or mimalloc for kind but received " + kind, 0, nullptr, true);
  if (!ok) return ThrowCoded(env, kNotServing, kind + " is not the allocator serving malloc in this process");
  return Napi::String::New(env, text);
}

static Napi::Object OutcomeObject(Napi::Env env, const ReleaseOutcome& outcome) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("flag", Napi::Number::New(env, outcome.flag));
  result.Set("done", Napi::Boolean::New(env, outcome.done));
  result.Set("durationNs", SizeValue(env, outcome.duration_ns));
  result.Set("threadCpuNs", SizeValue(env, outcome.thread_cpu_ns));
  return result;
}

static bool ValidReleaseKind(const std::string& kind) {
  return kind == "glibc" || kind == "jemalloc" || kind == "tcmalloc" || kind == "mimalloc";
}

// release(kind, onThreadpool): the trim itself, timed where it runs.
static Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  const std::string kind = info[0].As<Napi::String>();
  if (!ValidReleaseKind(kind)) return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected glibc, jemalloc, tcmalloc or mimalloc for kind but received " + kind, 0, nullptr, true);
  const bool on_threadpool = info.Length() > 1 && info[1].ToBoolean().Value();
  auto settle = [kind](Napi::Env env, ReleaseOutcome& outcome) -> Napi::Value {
    if (!outcome.supported) return ThrowCoded(env, kNotServing, kind + " is not the allocator serving malloc in this process");
    return OutcomeObject(env, outcome);
  };
  if (on_threadpool) return PromiseWorker<ReleaseOutcome>::Queue(env, "sockprobe:release", [kind] { return ReleaseFreeMemory(kind); }, settle);
  ReleaseOutcome outcome = ReleaseFreeMemory(kind);
  return settle(env, outcome);
}

// releaseSlice(kind, index, budgetBytes, onThreadpool): one bounded slice of a release.
static Napi::Value ReleaseSliceCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  const std::string kind = info[0].As<Napi::String>();
  if (!ValidReleaseKind(kind)) return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected glibc, jemalloc, tcmalloc or mimalloc for kind but received " + kind, 0, nullptr, true);
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber()) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected numbers for index and budgetBytes", 0, nullptr, true);
  const double index = info[1].As<Napi::Number>().DoubleValue();
  const double budget = info[2].As<Napi::Number>().DoubleValue();
  if (!(index >= 0 && index < 65536) || !(budget >= 4096 && budget <= 1099511627776.0)) {
    return ThrowCoded(env, "ERR_OUT_OF_RANGE", "Expected 0 <= index < 65536 and 4096 <= budgetBytes <= 2^40", 0, nullptr, true);
  }
  const unsigned slice = static_cast<unsigned>(index);
  const size_t budget_bytes = static_cast<size_t>(budget);
  const bool on_threadpool = info.Length() > 3 && info[3].ToBoolean().Value();
  auto settle = [kind](Napi::Env env, ReleaseOutcome& outcome) -> Napi::Value {
    if (!outcome.supported) return ThrowCoded(env, kNotServing, kind + " is not the allocator serving malloc in this process");
    return OutcomeObject(env, outcome);
  };
  auto run = [kind, slice, budget_bytes] { return ReleaseSlice(kind, slice, budget_bytes); };
  if (on_threadpool) return PromiseWorker<ReleaseOutcome>::Queue(env, "sockprobe:release-slice", run, settle);
  ReleaseOutcome outcome = run();
  return settle(env, outcome);
}

// releaseThreadCache(kind): the calling (JS) thread's allocator cache back to shared lists.
static Napi::Value ReleaseThreadCacheCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!IsString(info, 0)) return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a string for kind", 0, nullptr, true);
  return Napi::Boolean::New(env, ReleaseThreadCache(info[0].As<Napi::String>()));
}

Napi::Value AllocatorNumbersAsync(const Napi::CallbackInfo& info);    // stats_worker.cc
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
