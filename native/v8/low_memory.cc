// Asks V8 to shrink its heap. Node-API has no such call; the V8 methods are resolved with
// dlsym by their mangled names rather than linked, so an embedder without them still loads
// the addon and just reports the step unsupported.
//  - LowMemoryNotification: a blocking, repeated full GC that also shrinks the young
//    generation (tens of ms on the JS thread after a spike).
//  - MemoryPressureNotification(kModerate): starts an incremental, memory-reducing
//    mark-compact (marking concurrent and in ~1 ms steps between event-loop turns; one short
//    final pause). It also shrinks the young generation when it finishes.
#include <napi.h>

#include "common/symbols.h"

namespace sockprobe {

using GetCurrentIsolate = void* (*)();
using LowMemoryNotification = void (*)(void* isolate);  // Itanium ABI: `this` comes first
// v8::MemoryPressureLevel is `enum class { kNone, kModerate, kCritical }`, passed as an int.
using MemoryPressureNotification = void (*)(void* isolate, int level);
constexpr int kModeratePressure = 1;

struct V8Calls {
  GetCurrentIsolate get_current;
  LowMemoryNotification low_memory;
  MemoryPressureNotification memory_pressure;
};

static const V8Calls& Calls() {
  static const V8Calls calls{GlobalFunction<GetCurrentIsolate>("_ZN2v87Isolate10GetCurrentEv"),
                             GlobalFunction<LowMemoryNotification>("_ZN2v87Isolate21LowMemoryNotificationEv"),
                             GlobalFunction<MemoryPressureNotification>(
                                 "_ZN2v87Isolate26MemoryPressureNotificationENS_19MemoryPressureLevelE")};
  return calls;
}

// Returns true when V8 was asked; false when this runtime does not export the calls.
static Napi::Value ShrinkV8Heap(const Napi::CallbackInfo& info) {
  const V8Calls& calls = Calls();
  if (calls.get_current == nullptr || calls.low_memory == nullptr) return Napi::Boolean::New(info.Env(), false);
  void* isolate = calls.get_current();  // the isolate of the calling JS thread
  if (isolate == nullptr) return Napi::Boolean::New(info.Env(), false);
  calls.low_memory(isolate);
  return Napi::Boolean::New(info.Env(), true);
}

// Returns true when V8 was told of moderate memory pressure; false when the runtime lacks the
// call. Called on the isolate's own thread, V8 acts at once: it starts incremental marking
// in memory-reducing mode unless marking is already under way (then that cycle finishes).
static Napi::Value StartMemoryReducingGc(const Napi::CallbackInfo& info) {
  const V8Calls& calls = Calls();
  if (calls.get_current == nullptr || calls.memory_pressure == nullptr) return Napi::Boolean::New(info.Env(), false);
  void* isolate = calls.get_current();
  if (isolate == nullptr) return Napi::Boolean::New(info.Env(), false);
  calls.memory_pressure(isolate, kModeratePressure);
  return Napi::Boolean::New(info.Env(), true);
}

void InitV8(Napi::Env env, Napi::Object exports) {
  exports.Set("shrinkV8Heap", Napi::Function::New(env, ShrinkV8Heap, "shrinkV8Heap"));
  exports.Set("startMemoryReducingGc", Napi::Function::New(env, StartMemoryReducingGc, "startMemoryReducingGc"));
}

}  // namespace sockprobe
