// Threadpool work that settles a Promise: `work` runs on the threadpool and must not touch
// N-API; `settle` runs on the JS thread and turns the result into a value, or throws a coded
// error (ThrowCoded) to reject. Nothing here throws C++.
//
// Written against the raw N-API calls, each checked: a worker thread being terminated can
// still run a JS continuation that calls in here (a release awaiting slice after slice), and
// N-API then refuses new promises or work. node-addon-api's AsyncWorker turned such a refusal
// into a fatal error (seen once on Node 22 under load); here a refusal queues nothing and
// returns undefined, since the thread is going away and nothing will read the result.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <utility>

namespace sockprobe {

template <typename Result>
class PromiseWorker {
 public:
  using Work = std::function<Result()>;
  using Settle = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues the work and returns its Promise; the job frees itself once it settled.
  static Napi::Value Queue(Napi::Env env, const char* name, Work work, Settle settle) {
    std::unique_ptr<PromiseWorker> job(new PromiseWorker(std::move(work), std::move(settle)));
    napi_value promise = nullptr;
    napi_value resource_name = nullptr;
    if (napi_create_promise(env, &job->deferred_, &promise) != napi_ok ||
        napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
        napi_create_async_work(env, nullptr, resource_name, Execute, Complete, job.get(), &job->handle_) != napi_ok) {
      return Napi::Value();  // an unsettled deferred is collected with its promise
    }
    if (napi_queue_async_work(env, job->handle_) != napi_ok) {
      napi_delete_async_work(env, job->handle_);
      return Napi::Value();
    }
    job.release();  // owned by the queued work until Complete
    return Napi::Value(env, promise);
  }

 private:
  PromiseWorker(Work work, Settle settle) : work_(std::move(work)), settle_(std::move(settle)) {}

  static void Execute(napi_env, void* data) {
    auto* job = static_cast<PromiseWorker*>(data);
    job->result_ = job->work_();
  }

  static void Complete(napi_env raw_env, napi_status status, void* data) {
    std::unique_ptr<PromiseWorker> job(static_cast<PromiseWorker*>(data));
    napi_delete_async_work(raw_env, job->handle_);
    Napi::Env env(raw_env);
    if (status != napi_ok) {  // cancelled before it ran (the environment is shutting down)
      napi_value message = nullptr, error = nullptr;
      if (napi_create_string_utf8(raw_env, "sockprobe: threadpool work was cancelled", NAPI_AUTO_LENGTH, &message) ==
              napi_ok &&
          napi_create_error(raw_env, nullptr, message, &error) == napi_ok) {
        napi_reject_deferred(raw_env, job->deferred_, error);
      }
      return;
    }
    Napi::Value value = job->settle_(env, job->result_);
    napi_value exception = nullptr;
    bool pending = false;
    if (napi_is_exception_pending(raw_env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(raw_env, &exception) == napi_ok) {
      napi_reject_deferred(raw_env, job->deferred_, exception);
      return;
    }
    napi_value resolved = value.IsEmpty() ? env.Undefined() : static_cast<napi_value>(value);
    napi_resolve_deferred(raw_env, job->deferred_, resolved);
  }

  Work work_;
  Settle settle_;
  napi_deferred deferred_ = nullptr;
  napi_async_work handle_ = nullptr;
  Result result_{};
};

}  // namespace sockprobe
