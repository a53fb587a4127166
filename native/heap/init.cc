// N-API surface of the native heap profiler: flat functions; src/native-heap/ shapes the
// results and rebuilds errors. Nothing here throws C++.
#include <napi.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/env_leases.h"
#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "heap/session.h"

namespace sockprobe {

namespace {

Napi::Value HeapProblem(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), heap::Problem()); }

Napi::Value HeapProblemAsync(const Napi::CallbackInfo& info) {
  return PromiseWorker<std::string>::Queue(
      info.Env(), "sockprobe:heapProblem", [] { return heap::Problem(); },
      [](Napi::Env env, std::string& problem) -> Napi::Value { return Napi::String::New(env, problem); });
}

Napi::Value HeapStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a number for sampleBytes", 0, nullptr, true);
  const double sample_bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(sample_bytes >= 1 && sample_bytes <= 9007199254740991.0) || std::floor(sample_bytes) != sample_bytes) {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected a positive integer for sampleBytes", 0, nullptr, true);
  }
  const char* code = "ERR_UNSUPPORTED";
  std::string why;
  uint64_t session = 0;
  if (!heap::Acquire(static_cast<uint64_t>(sample_bytes), &session, &code, &why)) return ThrowCoded(env, code, why);
  static_cast<EnvLeases*>(info.Data())->Add(session);
  return SizeValue(env, session);
}

// Gives back one of this realm's references to the session `info[0]` names; true where it
// held one. Never throws: a bad or stale id releases nothing.
Napi::Value HeapStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  const double session = info[0].As<Napi::Number>().DoubleValue();
  if (!(session >= 1 && session <= 9007199254740991.0)) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, static_cast<EnvLeases*>(info.Data())->Release(static_cast<uint64_t>(session)));
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
  result.Set("session", SizeValue(env, status.session));
  result.Set("users", SizeValue(env, status.users));
  result.Set("startedAt", Napi::Number::New(env, status.started_at));
  return result;
}

// Sets `name` to `value`; false where making the value or setting it failed (V8 refused an
// allocation: a JS exception is then pending, and PromiseWorker rejects with it).
bool SetChecked(Napi::Object object, const char* name, Napi::Value value) {
  if (value.IsEmpty()) return false;
  return napi_set_named_property(object.Env(), object, name, value) == napi_ok;
}

// Rejects the profile's promise: with V8's own pending exception where there is one.
Napi::Value Unbuilt(Napi::Env env, const char* why) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
    Napi::Error::New(env, why).ThrowAsJavaScriptException();
  return Napi::Value();
}

// The tables' block as an ArrayBuffer: lent to V8 (freed by its finalizer) where external
// buffers are allowed, else copied, which V8 then allocates through the hooked malloc.
napi_value TablesBuffer(napi_env env, heap::TableBlock& block) {
  napi_value buffer = nullptr;
  if (napi_create_external_arraybuffer(
          env, block.data(), block.bytes(), [](napi_env, void* data, void*) { free(data); }, nullptr, &buffer) ==
      napi_ok) {
    block.Release();
    return buffer;
  }
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return nullptr;
  void* copy = nullptr;
  if (napi_create_arraybuffer(env, block.bytes(), &copy, &buffer) != napi_ok) return nullptr;
  if (block.bytes() > 0) std::memcpy(copy, block.data(), block.bytes());
  return buffer;
}

napi_typedarray_type TypedArrayType(heap::ElementType type) {
  switch (type) {
    case heap::ElementType::kFloat64: return napi_float64_array;
    case heap::ElementType::kInt32: return napi_int32_array;
    case heap::ElementType::kUint8: return napi_uint8_array;
    default: return napi_uint32_array;
  }
}

// A handful of values whatever the profile's size: one ArrayBuffer with a typed array per
// table column, and one string (src/binding/heap.ts describes them; src/native-heap/decode.ts
// reads them in slices).
Napi::Value ProfileValue(Napi::Env env, heap::RawProfile& profile) {
  if (!profile.ok) return ThrowCoded(env, profile.code, profile.error);
  heap::ProfileTables& tables = profile.tables;
  if (!tables.ok) return Unbuilt(env, "sockprobe: no memory for the heap profile's tables");
  Napi::Object result = Napi::Object::New(env);
  Napi::Object frames = Napi::Object::New(env);
  Napi::Object sites = Napi::Object::New(env);
  Napi::Array kind_names = Napi::Array::New(env);
  if (result.IsEmpty() || frames.IsEmpty() || sites.IsEmpty() || kind_names.IsEmpty())
    return Unbuilt(env, "sockprobe: the heap profile's values could not be made");
  uint32_t kind_index = 0;
  for (const char* kind : heap::kFrameKindNames) {
    Napi::String name = Napi::String::New(env, kind);
    if (name.IsEmpty() || napi_set_element(env, kind_names, kind_index++, name) != napi_ok)
      return Unbuilt(env, "sockprobe: the heap profile's values could not be made");
  }
  napi_value buffer = TablesBuffer(env, tables.block);
  if (buffer == nullptr) return Unbuilt(env, "sockprobe: the heap profile's tables could not be made");
  for (const heap::TableSection& section : tables.sections) {
    napi_value column = nullptr;
    if (napi_create_typedarray(env, TypedArrayType(section.type), section.length, buffer, section.byte_offset,
                               &column) != napi_ok ||
        !SetChecked(std::strcmp(section.table, "frames") == 0 ? frames : sites, section.name,
                    Napi::Value(env, column))) {
      return Unbuilt(env, "sockprobe: the heap profile's tables could not be made");
    }
  }
  const bool ok = SetChecked(result, "sampleBytes", SizeValue(env, profile.sample_bytes)) &&
                  SetChecked(result, "startedAt", Napi::Number::New(env, profile.started_at)) &&
                  SetChecked(result, "takenAt", Napi::Number::New(env, profile.taken_at)) &&
                  SetChecked(result, "dropped", SizeValue(env, profile.dropped)) &&
                  SetChecked(result, "patchedSlots", SizeValue(env, profile.patched_slots)) &&
                  SetChecked(result, "executable", Napi::String::New(env, profile.executable)) &&
                  SetChecked(result, "allocatorObject", Napi::String::New(env, profile.allocator_object)) &&
                  SetChecked(result, "strings", Napi::String::New(env, tables.strings)) &&
                  SetChecked(frames, "kindNames", kind_names) && SetChecked(result, "frames", frames) &&
                  SetChecked(result, "sites", sites);
  return ok ? static_cast<Napi::Value>(result) : Unbuilt(env, "sockprobe: the heap profile's values could not be made");
}

Napi::Value HeapProfile(const Napi::CallbackInfo& info) {
  return PromiseWorker<heap::RawProfile>::Queue(
      info.Env(), "sockprobe:heapProfile", [] { return heap::TakeProfile(); }, ProfileValue);
}

}  // namespace

void InitHeap(Napi::Env env, Napi::Object exports) {
  exports.Set("heapProblem", Napi::Function::New(env, HeapProblem, "heapProblem"));
  exports.Set("heapProblemAsync", Napi::Function::New(env, HeapProblemAsync, "heapProblemAsync"));
  EnvLeases* leases = EnvLeases::Attach(env, heap::Release);
  exports.Set("heapStart", Napi::Function::New(env, HeapStart, "heapStart", leases));
  exports.Set("heapStop", Napi::Function::New(env, HeapStop, "heapStop", leases));
  exports.Set("heapStatus", Napi::Function::New(env, HeapStatus, "heapStatus"));
  exports.Set("heapProfile", Napi::Function::New(env, HeapProfile, "heapProfile"));
}

}  // namespace sockprobe
