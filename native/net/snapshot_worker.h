// socketSnapshot's threadpool half: the /proc/self/fd scan and the sock_diag dumps.
#pragma once
#include <napi.h>

namespace sockprobe {

// Returns a Promise of { rows: ArrayBuffer, count, listeners, byLocalPort, byRemotePort, hostSockets, fdsOpen, fdLimit, fdHardLimit,
// scanNs, dumpNs }, or rejects with a coded error naming the failed syscall.
Napi::Value QueueSnapshot(Napi::Env env);

}  // namespace sockprobe
