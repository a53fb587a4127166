#include "net/probe.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "net/probe_layout.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

namespace sockprobe {

static void PutI32(uint8_t* out, size_t offset, int32_t value) { std::memcpy(out + offset, &value, 4); }

int ProbeTcpSocket(int fd, int what, uint8_t* out, ProbeFailure* failure) {
  socklen_t info_length = kTcpInfoCapacity;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, out + probe::kTcpInfo, &info_length) != 0) {
    *failure = {errno, "getsockopt"};
    return -1;
  }
  const bool listening = info_length > 0 && out[probe::kTcpInfo] == TCP_LISTEN;
  int inq = -1;
  int outq = -1;
  if (!listening && (what & kProbeQueues) != 0) {
    if (ioctl(fd, SIOCINQ, &inq) != 0) {
      *failure = {errno, "ioctl"};
      return -1;
    }
    if (ioctl(fd, SIOCOUTQ, &outq) != 0) {
      *failure = {errno, "ioctl"};
      return -1;
    }
  }
  PutI32(out, probe::kInq, inq);
  PutI32(out, probe::kOutq, outq);
  socklen_t skmem_length = 0;
  if ((what & kProbeSkmem) != 0) skmem_length = 4 * kSkmemSlots;
  if (skmem_length != 0 && getsockopt(fd, SOL_SOCKET, SO_MEMINFO, out + probe::kSkmem, &skmem_length) != 0) {
    *failure = {errno, "getsockopt"};
    return -1;
  }
  PutI32(out, probe::kSkmemCount, static_cast<int32_t>(skmem_length / 4));
  return static_cast<int>(info_length);
}

}  // namespace sockprobe
