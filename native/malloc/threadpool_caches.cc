// releaseThreadpoolCaches(kind, count, waitMs): the allocator caches of the libuv threadpool's
// threads back to the shared lists, so the release that follows can return them. Each thread
// caches what it freed (tcmalloc thread cache, jemalloc tcache, mimalloc's per-thread heap with
// its empty pages) and only a call on that thread empties it. libuv has no "run on every
// thread" call, so `count` work items meet at a rendezvous: each waits (at most waitMs) until
// all have started, which puts them on `count` different threads when the pool is idle, then
// empties its own thread's cache. A busy pool only makes some land on the same thread (a
// second empty of one cache is harmless); the wait is bounded, and it blocks pool threads,
// never the JS thread.
#include <napi.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "malloc/allocators.h"
#include "malloc/kind_argument.h"
#include "malloc/release.h"

namespace sockprobe {

namespace {

struct Rendezvous {
  std::mutex mutex;
  std::condition_variable all_arrived;
  unsigned arrived = 0;
  unsigned expected = 0;
};

struct ThreadRelease {
  bool released = false;  // the allocator had a per-thread cache call and it ran
  double thread_id = 0;   // gettid() of the pool thread it ran on
  uint64_t waited_ns = 0;
  // tcmalloc's own count of this thread's cache around the call (-1 elsewhere): the evidence.
  double cache_bytes_before = -1;
  double cache_bytes_after = -1;
};

double ThreadCacheBytes(AllocatorKind kind) {
  size_t bytes = 0;
  return kind == AllocatorKind::kTcmalloc && TcmallocThreadCacheBytes(&bytes) ? static_cast<double>(bytes) : -1;
}

ThreadRelease MeetAndRelease(AllocatorKind kind, Rendezvous* meeting, unsigned wait_ms) {
  ThreadRelease result;
  const auto start = std::chrono::steady_clock::now();
  {
    std::unique_lock<std::mutex> lock(meeting->mutex);
    meeting->arrived++;
    meeting->all_arrived.notify_all();
    meeting->all_arrived.wait_until(lock, start + std::chrono::milliseconds(wait_ms),
                                    [meeting] { return meeting->arrived >= meeting->expected; });
  }
  result.waited_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  result.thread_id = static_cast<double>(syscall(SYS_gettid));
  result.cache_bytes_before = ThreadCacheBytes(kind);
  result.released = ReleaseThreadCache(kind);
  result.cache_bytes_after = ThreadCacheBytes(kind);
  return result;
}

}  // namespace

Napi::Value ReleaseThreadpoolCaches(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AllocatorKind kind;
  if (!KindArgument(info, kEveryKind, &kind)) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber())
    return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected numbers for count and waitMs", 0, nullptr, true);
  const double count = info[1].As<Napi::Number>().DoubleValue();
  const double wait_ms = info[2].As<Napi::Number>().DoubleValue();
  // libuv caps its pool at 1024 threads; 100 ms is far above what an idle pool needs to meet.
  if (!(count >= 1 && count <= 1024) || !(wait_ms >= 0 && wait_ms <= 100)) {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "Expected 1 <= count <= 1024 and 0 <= waitMs <= 100", 0, nullptr,
                      true);
  }
  auto meeting = std::make_shared<Rendezvous>();
  meeting->expected = static_cast<unsigned>(count);
  const unsigned wait = static_cast<unsigned>(wait_ms);
  std::vector<Napi::Value> queued;
  for (unsigned i = 0; i < meeting->expected; i++) {
    Napi::Value promise = PromiseWorker<ThreadRelease>::Queue(
        env, "sockprobe:release-thread-cache",
        [kind, meeting, wait] { return MeetAndRelease(kind, meeting.get(), wait); },
        [](Napi::Env env, ThreadRelease& result) -> Napi::Value {
          Napi::Object object = Napi::Object::New(env);
          object.Set("released", Napi::Boolean::New(env, result.released));
          object.Set("threadId", Napi::Number::New(env, result.thread_id));
          object.Set("waitedNs", SizeValue(env, result.waited_ns));
          object.Set("cacheBytesBefore",
                     result.cache_bytes_before < 0 ? env.Null() : Napi::Number::New(env, result.cache_bytes_before));
          object.Set("cacheBytesAfter",
                     result.cache_bytes_after < 0 ? env.Null() : Napi::Number::New(env, result.cache_bytes_after));
          return object;
        });
    // A terminating environment refuses new promises: the items queued so far stop waiting
    // for the rest, and only their promises are returned.
    if (promise.IsEmpty()) {
      std::lock_guard<std::mutex> lock(meeting->mutex);
      meeting->expected = i;
      meeting->all_arrived.notify_all();
      break;
    }
    queued.push_back(promise);
  }
  Napi::Array promises = Napi::Array::New(env, queued.size());
  for (size_t i = 0; i < queued.size(); i++) promises.Set(static_cast<uint32_t>(i), queued[i]);
  return promises;
}

}  // namespace sockprobe
