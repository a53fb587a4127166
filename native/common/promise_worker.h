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
  static Napi::Promise Queue(Napi::Env env, const char* name, Work work, Settle settle) {
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
