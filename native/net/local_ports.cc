#include "net/local_ports.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace sockprobe {

LocalPorts LocalPortsOf(const std::vector<int>& fds) {
  LocalPorts result;
  result.ports.reserve(fds.size());
  for (int fd : fds) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      if (errno == EBADF || errno == ENOTSOCK) continue;
      result.err = errno;
      result.syscall = "getsockname";
      return result;
    }
    uint16_t port = 0;
    if (address.ss_family == AF_INET)
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    else if (address.ss_family == AF_INET6)
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    if (port == 0) continue;
    result.ports.push_back(port);
    (address.ss_family == AF_INET ? result.inet : result.inet6) = true;
  }
  return result;
}

}  // namespace sockprobe
