#include "net/snapshot_worker.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/clock.h"
#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "net/diag_dump.h"
#include "net/proc_fds.h"

namespace sockprobe {

namespace {

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

// What the threadpool half produces; settled into JS by SettleSnapshot.
struct SnapshotResult {
  FdScan scan;
  DiagResult diag;
  uint64_t scan_ns = 0;
  uint64_t dump_ns = 0;
};

SnapshotResult TakeSnapshot(int pid) {
  SnapshotResult result;
  const uint64_t start = MonotonicNanos();
  result.scan = ScanProcessFds(pid);
  const uint64_t scanned = MonotonicNanos();
  result.scan_ns = scanned - start;
  if (result.scan.err != 0) return result;
  result.diag = DumpProcessTcpSockets(result.scan);
  result.dump_ns = MonotonicNanos() - scanned;
  return result;
}

Napi::Value SettleSnapshot(Napi::Env env, SnapshotResult& snapshot) {
  const FdScan& scan = snapshot.scan;
  DiagResult& diag = snapshot.diag;
  const int err = scan.err != 0 ? scan.err : diag.err;
  if (err != 0) {
    const char* syscall = scan.err != 0 ? scan.syscall : diag.syscall;
    return ThrowCoded(env, "ERR_SYSCALL", std::string("socket snapshot failed in ") + syscall + ": " + strerror(err),
                      err, syscall);
  }
  Napi::Value buffer = RowsBuffer(env, std::move(diag.rows));
  if (buffer.IsEmpty()) return ThrowCoded(env, "ERR_SYSCALL", "socket snapshot: could not allocate the rows buffer");
  Napi::Object result = Napi::Object::New(env);
  result.Set("rows", buffer);
  result.Set("count", Napi::Number::New(env, diag.count));
  result.Set("listeners", Napi::Number::New(env, diag.listeners));
  result.Set("byLocalPort", CountsArray(env, diag.by_local_port));
  result.Set("byRemotePort", CountsArray(env, diag.by_remote_port));
  result.Set("hostSockets", Napi::Number::New(env, diag.host_sockets));
  result.Set("filterPorts", Napi::Number::New(env, diag.filter_ports));
  result.Set("unfiltered", Napi::Boolean::New(env, diag.unfiltered));
  result.Set("dumps", Napi::Number::New(env, diag.dumps));
  result.Set("fdsOpen", Napi::Number::New(env, scan.open));
  result.Set("fdLimit", LimitValue(env, scan.limit_soft));
  result.Set("fdHardLimit", LimitValue(env, scan.limit_hard));
  result.Set("scanNs", SizeValue(env, snapshot.scan_ns));
  result.Set("dumpNs", SizeValue(env, snapshot.dump_ns));
  return result;
}

}  // namespace

Napi::Value QueueSnapshot(Napi::Env env, int pid) {
  return PromiseWorker<SnapshotResult>::Queue(
      env, "sockprobe:socketSnapshot", [pid] { return TakeSnapshot(pid); }, SettleSnapshot);
}

}  // namespace sockprobe
