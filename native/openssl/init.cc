// N-API surface of OpenSSL allocation tracking: four flat functions. The TypeScript layer
// (src/openssl/) shapes results and rebuilds errors; nothing here throws C++.
#include <napi.h>

#include "common/env_leases.h"
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

// Takes one reference for this realm; returns the session's id.
static Napi::Value OpensslStart(const Napi::CallbackInfo& info) {
  const char* code = "ERR_UNSUPPORTED";
  std::string why;
  uint64_t session = 0;
  if (!AcquireTracking(&session, &code, &why)) return ThrowCoded(info.Env(), code, why);
  static_cast<EnvLeases*>(info.Data())->Add(session);
  return SizeValue(info.Env(), session);
}

// Gives back one of this realm's references to the session `info[0]` names; true where it
// held one. Never throws: a bad or stale id releases nothing.
static Napi::Value OpensslStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  const double session = info[0].As<Napi::Number>().DoubleValue();
  if (!(session >= 1 && session <= 9007199254740991.0)) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, static_cast<EnvLeases*>(info.Data())->Release(static_cast<uint64_t>(session)));
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
  result.Set("session", SizeValue(env, stats.session));
  result.Set("users", SizeValue(env, stats.users));
  return result;
}

void InitOpenssl(Napi::Env env, Napi::Object exports) {
  exports.Set("opensslTrackingProblem", Napi::Function::New(env, OpensslTrackingProblem, "opensslTrackingProblem"));
  exports.Set("opensslTrackingProblemAsync",
              Napi::Function::New(env, OpensslTrackingProblemAsync, "opensslTrackingProblemAsync"));
  EnvLeases* leases = EnvLeases::Attach(env, ReleaseTracking);
  exports.Set("opensslStart", Napi::Function::New(env, OpensslStart, "opensslStart", leases));
  exports.Set("opensslStop", Napi::Function::New(env, OpensslStop, "opensslStop", leases));
  exports.Set("opensslStats", Napi::Function::New(env, OpensslStats, "opensslStats"));
}

}  // namespace sockprobe
