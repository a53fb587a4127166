// One socket's kernel view by fd: TCP_INFO, SIOCINQ/SIOCOUTQ and SO_MEMINFO.
#pragma once
#include <cstdint>

namespace sockprobe {

struct ProbeFailure {
  int err = 0;
  const char* syscall = nullptr;
};

// What to measure besides TCP_INFO: each is one more syscall (about 0.3-0.4 µs here).
constexpr int kProbeQueues = 1;  // SIOCINQ + SIOCOUTQ
constexpr int kProbeSkmem = 2;   // SO_MEMINFO

// Fills `out` (probe::kBytes) and returns the tcp_info length the kernel filled, or -1 with
// `failure` set. Listeners get no queue sizes (the ioctls fail with EINVAL there); what was
// not measured reads as -1 (queues) and a count of 0 (skmem).
int ProbeTcpSocket(int fd, int what, uint8_t* out, ProbeFailure* failure);

}  // namespace sockprobe
