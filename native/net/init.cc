// N-API surface of the socket concern: a flat table of small functions doing syscalls only.
// Validation, fd resolution from Node handles, errno -> code mapping and field naming live in
// TypeScript (src/net/).
#include <napi.h>

#include <cstddef>
#include <cstring>

#include "common/napi_util.h"
#include "net/probe.h"
#include "net/probe_layout.h"
#include "net/snapshot_worker.h"
#include "net/support.h"
#include "net/tcp_info_layout.h"

namespace sockprobe {

// tcpProbe(fd, buffer, what): fills buffer (probe::kBytes) and returns the tcp_info length.
// `what` adds kProbeQueues (1) and/or kProbeSkmem (2). The hot path of tcpInfo(): no
// allocation, one N-API call, errors thrown only on failure.
static Napi::Value TcpProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber()) {
    return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected (fd: number, buffer: Uint8Array)", 0, nullptr, true);
  }
  // One napi_get_typedarray_info call gives type, length and data (the Napi wrappers make
  // three or four calls): this function is the per-socket hot path.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array || length < probe::kBytes || data == nullptr) {
    return ThrowCoded(env, "ERR_INVALID_ARG_VALUE",
                      "Expected a Uint8Array of at least " + std::to_string(probe::kBytes) + " bytes", 0, nullptr,
                      true);
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int what =
      info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : (kProbeQueues | kProbeSkmem);
  ProbeFailure failure;
  const int filled = ProbeTcpSocket(fd, what, static_cast<uint8_t*>(data), &failure);
  if (filled < 0)
    return ThrowCoded(env, "ERR_SYSCALL", std::string(failure.syscall) + ": " + strerror(failure.err), failure.err,
                      failure.syscall);
  return Napi::Number::New(env, filled);
}

// socketSnapshotRows(pid?): pid 0 or absent is this process.
static Napi::Value SocketSnapshotRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = 0;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    const double value = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(value >= 0 && value <= 2147483647 && value == static_cast<int>(value)))
      return ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "Expected a pid (a non-negative int32) for pid", 0, nullptr, true);
    pid = static_cast<int>(value);
  }
  return QueueSnapshot(env, pid);
}

// The byte layouts this build uses, so TypeScript can check its mirror of them.
static Napi::Value NetLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  Napi::Object tcp = Napi::Object::New(env);
  // Every field as [offset, size]; bitfields as the byte that holds them.
  auto field = [&](const char* name, size_t offset, size_t size) {
    Napi::Array entry = Napi::Array::New(env, 2);
    entry.Set(0u, Napi::Number::New(env, static_cast<double>(offset)));
    entry.Set(1u, Napi::Number::New(env, static_cast<double>(size)));
    tcp.Set(name, entry);
  };
#define SOCKPROBE_FIELD(name) field(#name, offsetof(TcpInfo, name), sizeof(TcpInfo::name));
  SOCKPROBE_TCP_INFO_FIELDS(SOCKPROBE_FIELD)
#undef SOCKPROBE_FIELD
  field("snd_wscale", offsetof(TcpInfo, wscale), 1);
  field("rcv_wscale", offsetof(TcpInfo, wscale), 1);
  field("delivery_rate_app_limited", offsetof(TcpInfo, app_limited), 1);
  field("fastopen_client_fail", offsetof(TcpInfo, app_limited), 1);
  result.Set("tcpInfo", tcp);
  result.Set("tcpInfoSize", Napi::Number::New(env, sizeof(TcpInfo)));
  result.Set("tcpInfoCapacity", Napi::Number::New(env, kTcpInfoCapacity));
  result.Set("skmemSlots", Napi::Number::New(env, kSkmemSlots));
  result.Set("probeBytes", Napi::Number::New(env, probe::kBytes));
  result.Set("rowBytes", Napi::Number::New(env, row::kBytes));
  result.Set("rowTcpInfo", Napi::Number::New(env, row::kTcpInfo));
  result.Set("rowSkmem", Napi::Number::New(env, row::kSkmem));
  return result;
}

// netSupport(): whether TCP_INFO and sock_diag answer here (see support.h); errno names come
// from TypeScript. Run once per process by src/net/support.ts.
static Napi::Value NetSupportCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const NetSupport support = CheckNetSupport();
  Napi::Object result = Napi::Object::New(env);
  result.Set("tcpInfoLength", Napi::Number::New(env, support.tcp_info_length));
  result.Set("tcpInfoErrno", Napi::Number::New(env, support.tcp_info_errno));
  result.Set("tcpInfoSyscall",
             support.tcp_info_syscall ? Napi::Value(Napi::String::New(env, support.tcp_info_syscall)) : env.Null());
  result.Set("sockDiagErrno", Napi::Number::New(env, support.sock_diag_errno));
  result.Set("sockDiagStep",
             support.sock_diag_step ? Napi::Value(Napi::String::New(env, support.sock_diag_step)) : env.Null());
  return result;
}

void InitNet(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpProbe", Napi::Function::New(env, TcpProbe, "tcpProbe"));
  exports.Set("socketSnapshotRows", Napi::Function::New(env, SocketSnapshotRows, "socketSnapshotRows"));
  exports.Set("netLayout", Napi::Function::New(env, NetLayout, "netLayout"));
  exports.Set("netSupport", Napi::Function::New(env, NetSupportCheck, "netSupport"));
}

}  // namespace sockprobe
