// Asks V8 to shrink its heap (v8::Isolate::LowMemoryNotification: a memory-reducing full
// GC that also shrinks the young generation, which a plain gc() leaves at its peak size).
// Node-API has no such call; the two V8 methods are resolved with dlsym rather than
// linked, so an embedder without them still loads the addon and just reports it unsupported.
#include <dlfcn.h>
#include <napi.h>

namespace sockprobe {

using GetCurrentIsolate = void* (*)();
using LowMemoryNotification = void (*)(void* isolate);  // Itanium ABI: `this` comes first

struct V8Calls {
  GetCurrentIsolate get_current;
  LowMemoryNotification low_memory;
};

static const V8Calls& Calls() {
  static const V8Calls calls{
      reinterpret_cast<GetCurrentIsolate>(dlsym(RTLD_DEFAULT, "_ZN2v87Isolate10GetCurrentEv")),
      reinterpret_cast<LowMemoryNotification>(dlsym(RTLD_DEFAULT, "_ZN2v87Isolate21LowMemoryNotificationEv"))};
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

void InitV8(Napi::Env env, Napi::Object exports) {
  exports.Set("shrinkV8Heap", Napi::Function::New(env, ShrinkV8Heap, "shrinkV8Heap"));
}

}  // namespace sockprobe
