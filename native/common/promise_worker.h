// Threadpool work that settles a Promise: `work` runs on the threadpool and must not touch
// N-API; `settle` runs on the JS thread and turns the result into a value, or throws a coded
// error (ThrowCoded) to reject. Nothing here throws C++.
#pragma once
#include <napi.h>

#include <functional>
#include <utility>

namespace sockprobe {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Settle = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues the work and returns its Promise; N-API deletes the worker once it settled.
  // A worker thread being terminated can still run a JS continuation that calls in here (a
  // release awaiting slice after slice); N-API then refuses new promises, and node-addon-api
  // turns that refusal into a fatal error (seen once on Node 22 under load). So the raw call
  // is asked first, and on refusal nothing is queued and undefined is returned: the thread
  // is going away and nothing will read the result.
  static Napi::Value Queue(Napi::Env env, const char* name, Work work, Settle settle) {
    napi_deferred probe = nullptr;
    napi_value probe_promise = nullptr;
    if (napi_create_promise(env, &probe, &probe_promise) != napi_ok) return Napi::Value();
    napi_value undefined = nullptr;
    if (napi_get_undefined(env, &undefined) != napi_ok || napi_resolve_deferred(env, probe, undefined) != napi_ok) return Napi::Value();
    auto* worker = new PromiseWorker(env, name, std::move(work), std::move(settle));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Napi::AsyncWorker::Queue();
    return promise;
  }

 protected:
  void Execute() override { result_ = work_(); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value value = settle_(env, result_);
    if (env.IsExceptionPending()) {
      deferred_.Reject(env.GetAndClearPendingException().Value());
      return;
    }
    deferred_.Resolve(value);
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  PromiseWorker(Napi::Env env, const char* name, Work work, Settle settle)
      : Napi::AsyncWorker(env, name), work_(std::move(work)), settle_(std::move(settle)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Work work_;
  Settle settle_;
  Napi::Promise::Deferred deferred_;
  Result result_{};
};

}  // namespace sockprobe
