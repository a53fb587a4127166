// N-API surface of OpenSSL allocation tracking: four flat functions. The TypeScript layer
// (src/openssl/) shapes results and rebuilds errors; nothing here throws C++.
#include <napi.h>

#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "openssl/tracker.h"

namespace sockprobe {

// Empty string when supported, else why not.
static Napi::Value OpensslTrackingProblem(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TrackingProblem());
}

// The same answer from the threadpool: the first one scans the executable's symbol table
// (3–8 ms with warm page cache, tens of ms cold), which the JS thread should not wait for.
static Napi::Value OpensslTrackingProblemAsync(const Napi::CallbackInfo& info) {
  return PromiseWorker<std::string>::Queue(
      info.Env(), "sockprobe:opensslTrackingProblem", [] { return TrackingProblem(); },
      [](Napi::Env env, std::string& problem) -> Napi::Value { return Napi::String::New(env, problem); });
}

static Napi::Value OpensslStart(const Napi::CallbackInfo& info) {
  const char* code = "ERR_UNSUPPORTED";
  std::string why;
  if (!StartTracking(&code, &why)) return ThrowCoded(info.Env(), code, why);
  return info.Env().Undefined();
}

static Napi::Value OpensslStop(const Napi::CallbackInfo& info) {
  StopTracking();
  return info.Env().Undefined();
}

static Napi::Value OpensslStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const TrackerStats stats = ReadTrackerStats();
  Napi::Object result = Napi::Object::New(env);
  result.Set("tracking", Napi::Boolean::New(env, stats.tracking));
  result.Set("started", Napi::Boolean::New(env, stats.started));
  result.Set("liveBytes", Napi::Number::New(env, static_cast<double>(stats.live_bytes)));
  result.Set("peakBytes", Napi::Number::New(env, static_cast<double>(stats.peak_bytes)));
  result.Set("allocations", SizeValue(env, stats.allocations));
  result.Set("frees", SizeValue(env, stats.frees));
  result.Set("reallocs", SizeValue(env, stats.reallocs));
  result.Set("sinceMs", Napi::Number::New(env, stats.since_ms));
  return result;
}

void InitOpenssl(Napi::Env env, Napi::Object exports) {
  exports.Set("opensslTrackingProblem", Napi::Function::New(env, OpensslTrackingProblem, "opensslTrackingProblem"));
  exports.Set("opensslTrackingProblemAsync", Napi::Function::New(env, OpensslTrackingProblemAsync, "opensslTrackingProblemAsync"));
  exports.Set("opensslStart", Napi::Function::New(env, OpensslStart, "opensslStart"));
  exports.Set("opensslStop", Napi::Function::New(env, OpensslStop, "opensslStop"));
  exports.Set("opensslStats", Napi::Function::New(env, OpensslStats, "opensslStats"));
}

}  // namespace sockprobe
