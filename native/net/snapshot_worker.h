// socketSnapshot's threadpool half: the /proc/<pid>/fd scan and the sock_diag dumps.
#pragma once
#include <napi.h>

namespace sockprobe {

// Returns a Promise of { rows: ArrayBuffer, count, listeners, byLocalPort, byRemotePort, hostSockets, fdsOpen, fdLimit,
// fdHardLimit, scanNs, dumpNs }, or rejects with a coded error naming the failed syscall. pid 0 is this process;
// another pid must be validated (it exists, same user) by the caller.
Napi::Value QueueSnapshot(Napi::Env env, int pid);

}  // namespace sockprobe
