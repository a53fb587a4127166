// bench/native-heap.mjs's own addon, built only by `npm run bench:native-heap`: the production
// addon carries nothing the benchmark alone calls. Linked as the addon is (-z now), so its
// malloc and free slots are bound at load and the profiler hooks them as it hooks the addon's.
#include <napi.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/clock.h"
#include "common/napi_util.h"

namespace {

// `count` blocks of `size` bytes allocated and then freed through this object's GOT slots
// (hooked or not), timed apart. Returns [ns per malloc, ns per free].
Napi::Value HeapBenchFrees(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    return sockprobe::ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected numbers for count and size", 0, nullptr, true);
  const int64_t count = info[0].As<Napi::Number>().Int64Value();
  const int64_t size = info[1].As<Napi::Number>().Int64Value();
  // Bounded so that no call can hold more than 40 MB.
  if (count < 1 || count > 10000 || size < 1 || size > 4096)
    return sockprobe::ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "count must be 1..10000 and size 1..4096", 0, nullptr,
                                 true);
  std::vector<void*> blocks(static_cast<size_t>(count));
  const uint64_t t0 = sockprobe::MonotonicNanos();
  for (auto& block : blocks) block = malloc(static_cast<size_t>(size));
  const uint64_t t1 = sockprobe::MonotonicNanos();
  for (auto* block : blocks) free(block);
  const uint64_t t2 = sockprobe::MonotonicNanos();
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(t1 - t0) / static_cast<double>(count)));
  result.Set(1u, Napi::Number::New(env, static_cast<double>(t2 - t1) / static_cast<double>(count)));
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("heapBenchFrees", Napi::Function::New(env, HeapBenchFrees, "heapBenchFrees"));
  return exports;
}

}  // namespace

NODE_API_MODULE(heap_bench, Init)
