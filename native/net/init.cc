// Socket probes (TCP_INFO, SO_MEMINFO, sock_diag snapshots) register here.
#include <napi.h>

namespace sockprobe {
void InitNet(Napi::Env env, Napi::Object exports) {}
}  // namespace sockprobe
