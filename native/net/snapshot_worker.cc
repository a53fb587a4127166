#include "net/snapshot_worker.h"

#include <time.h>

#include <cmath>
#include <cstring>

#include <cstdint>
#include <vector>

#include "common/napi_util.h"
#include "net/diag_dump.h"
#include "net/proc_fds.h"

namespace sockprobe {

namespace {

uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// RLIMIT_NOFILE can be "unlimited"; JS sees Infinity rather than a wrapped number.
Napi::Value LimitValue(Napi::Env env, uint64_t limit) {
  return Napi::Number::New(env, limit == UINT64_MAX ? INFINITY : static_cast<double>(limit));
}

// The rows as an ArrayBuffer, handed over without a copy where the runtime allows external
// buffers (Node does), copied where it does not (V8-sandboxed embedders).
Napi::Value RowsBuffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::ArrayBuffer::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  napi_value external = nullptr;
  const napi_status status = napi_create_external_arraybuffer(
      env, owned->data(), owned->size(),
      [](napi_env, void*, void* hint) { delete static_cast<std::vector<uint8_t>*>(hint); }, owned, &external);
  if (status == napi_ok) return Napi::Value(env, external);
  void* data = nullptr;
  napi_value copy = nullptr;
  const bool copied = napi_create_arraybuffer(env, owned->size(), &data, &copy) == napi_ok;
  if (copied) std::memcpy(data, owned->data(), owned->size());
  delete owned;
  return copied ? Napi::Value(env, copy) : Napi::Value();
}

// [key, count, key, count, …] with key = port * 16 + state.
Napi::Value CountsArray(Napi::Env env, const std::map<uint32_t, uint32_t>& counts) {
  Napi::Array array = Napi::Array::New(env, counts.size() * 2);
  uint32_t i = 0;
  for (const auto& entry : counts) {
    array.Set(i++, Napi::Number::New(env, entry.first));
    array.Set(i++, Napi::Number::New(env, entry.second));
  }
  return array;
}

class SnapshotWorker : public Napi::AsyncWorker {
 public:
  SnapshotWorker(Napi::Env env, int pid)
      : Napi::AsyncWorker(env, "sockprobe:socketSnapshot"), deferred_(Napi::Promise::Deferred::New(env)), pid_(pid) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const uint64_t start = MonotonicNs();
    scan_ = ScanProcessFds(pid_);
    const uint64_t scanned = MonotonicNs();
    scan_ns_ = scanned - start;
    if (scan_.err != 0) return;
    diag_ = DumpProcessTcpSockets(scan_);
    dump_ns_ = MonotonicNs() - scanned;
  }

  void OnOK() override {
    Napi::Env env = Env();
    const int err = scan_.err != 0 ? scan_.err : diag_.err;
    if (err != 0) {
      const char* syscall = scan_.err != 0 ? scan_.syscall : diag_.syscall;
      Napi::Error error = Napi::Error::New(env, std::string("socket snapshot failed in ") + syscall + ": " + strerror(err));
      error.Set("code", Napi::String::New(env, "ERR_SYSCALL"));
      error.Set("errno", Napi::Number::New(env, err));
      error.Set("syscall", Napi::String::New(env, syscall));
      deferred_.Reject(error.Value());
      return;
    }
    Napi::Value buffer = RowsBuffer(env, std::move(diag_.rows));
    if (buffer.IsEmpty()) {
      deferred_.Reject(Napi::Error::New(env, "socket snapshot: could not allocate the rows buffer").Value());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("rows", buffer);
    result.Set("count", Napi::Number::New(env, diag_.count));
    result.Set("listeners", Napi::Number::New(env, diag_.listeners));
    result.Set("byLocalPort", CountsArray(env, diag_.by_local_port));
    result.Set("byRemotePort", CountsArray(env, diag_.by_remote_port));
    result.Set("hostSockets", Napi::Number::New(env, diag_.host_sockets));
    result.Set("fdsOpen", Napi::Number::New(env, scan_.open));
    result.Set("fdLimit", LimitValue(env, scan_.limit_soft));
    result.Set("fdHardLimit", LimitValue(env, scan_.limit_hard));
    result.Set("scanNs", SizeValue(env, scan_ns_));
    result.Set("dumpNs", SizeValue(env, dump_ns_));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int pid_;
  FdScan scan_;
  DiagResult diag_;
  uint64_t scan_ns_ = 0;
  uint64_t dump_ns_ = 0;
};

}  // namespace

Napi::Value QueueSnapshot(Napi::Env env, int pid) {
  auto* worker = new SnapshotWorker(env, pid);  // deleted by N-API after OnOK/OnError
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace sockprobe
