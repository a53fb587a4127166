// The local TCP/UDP ports of a few of this process's socket fds, from getsockname(): the
// ephemeral ports of its outgoing connections, which no listener names, so the dump can be
// filtered on them too.
#pragma once
#include <cstdint>
#include <vector>

namespace sockprobe {

struct LocalPorts {
  std::vector<uint16_t> ports;  // AF_INET/AF_INET6 sockets bound to a port; Unix sockets and unbound ones add none
  bool inet = false;            // some of those ports are AF_INET sockets'
  bool inet6 = false;           // some are AF_INET6 sockets'
  int err = 0;
  const char* syscall = nullptr;
};

// Blocking, one getsockname per fd. A fd closed or reused meanwhile (EBADF, ENOTSOCK) is skipped.
LocalPorts LocalPortsOf(const std::vector<int>& fds);

}  // namespace sockprobe
