#include "net/snapshot_worker.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/napi_util.h"
#include "common/promise_worker.h"
#include "net/diag_dump.h"
#include "net/proc_fds.h"
#include "net/rows_pool.h"

namespace sockprobe {

namespace {

// RLIMIT_NOFILE can be "unlimited"; JS sees Infinity rather than a wrapped number.
Napi::Value LimitValue(Napi::Env env, uint64_t limit) {
  return Napi::Number::New(env, limit == UINT64_MAX ? INFINITY : static_cast<double>(limit));
}

// The rows as an ArrayBuffer, handed over without a copy where the runtime allows external
// buffers (Node does), copied where it does not (V8-sandboxed embedders). Collected, the buffer
// becomes the next snapshot's spare.
Napi::Value RowsBuffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::ArrayBuffer::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  napi_value external = nullptr;
  const napi_status status = napi_create_external_arraybuffer(
      env, owned->data(), owned->size(),
      [](napi_env, void*, void* hint) {
        std::unique_ptr<std::vector<uint8_t>> rows(static_cast<std::vector<uint8_t>*>(hint));
        ReturnSpareRows(std::move(*rows));
      },
      owned, &external);
  if (status == napi_ok) return Napi::Value(env, external);
  void* data = nullptr;
  napi_value copy = nullptr;
  const bool copied = napi_create_arraybuffer(env, owned->size(), &data, &copy) == napi_ok;
  if (copied) std::memcpy(data, owned->data(), owned->size());
  ReturnSpareRows(std::move(*owned));
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
// Wall and on-CPU time of each stage, so a slow snapshot tells waiting for a core (the wall
// time grows, the CPU time does not) from work that got dearer.
struct SnapshotResult {
  FdScan scan;
  DiagResult diag;
  uint64_t queued_at = 0;  // when the JS thread queued the work
  uint64_t started_at = 0;
  uint64_t done_at = 0;
  uint64_t scan_ns = 0;
  uint64_t dump_ns = 0;
  uint64_t scan_cpu_ns = 0;
  uint64_t dump_cpu_ns = 0;
};

SnapshotResult TakeSnapshot(int pid, uint64_t queued_at) {
  SnapshotResult result;
  result.queued_at = queued_at;
  const uint64_t start = MonotonicNanos();
  const uint64_t start_cpu = ClockNanos(CLOCK_THREAD_CPUTIME_ID);
  result.started_at = start;
  result.scan = ScanProcessFds(pid);
  const uint64_t scanned = MonotonicNanos();
  const uint64_t scanned_cpu = ClockNanos(CLOCK_THREAD_CPUTIME_ID);
  result.scan_ns = scanned - start;
  result.scan_cpu_ns = scanned_cpu - start_cpu;
  if (result.scan.err == 0) {
    result.diag = DumpProcessTcpSockets(result.scan, TakeSpareRows());
    result.dump_cpu_ns = ClockNanos(CLOCK_THREAD_CPUTIME_ID) - scanned_cpu;
  }
  result.done_at = MonotonicNanos();
  result.dump_ns = result.scan.err == 0 ? result.done_at - scanned : 0;
  return result;
}

Napi::Value SettleSnapshot(Napi::Env env, SnapshotResult& snapshot) {
  const uint64_t settle_start = MonotonicNanos();
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
  result.Set("scanCpuNs", SizeValue(env, snapshot.scan_cpu_ns));
  result.Set("dumpCpuNs", SizeValue(env, snapshot.dump_cpu_ns));
  result.Set("queueWaitNs", SizeValue(env, snapshot.started_at - snapshot.queued_at));
  result.Set("completeWaitNs", SizeValue(env, settle_start - snapshot.done_at));
  result.Set("settleNs", SizeValue(env, MonotonicNanos() - settle_start));  // all but this last Set
  return result;
}

}  // namespace

Napi::Value QueueSnapshot(Napi::Env env, int pid) {
  const uint64_t queued_at = MonotonicNanos();
  return PromiseWorker<SnapshotResult>::Queue(
      env, "sockprobe:socketSnapshot", [pid, queued_at] { return TakeSnapshot(pid, queued_at); }, SettleSnapshot);
}

}  // namespace sockprobe
