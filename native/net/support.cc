#include "net/support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "net/probe_layout.h"

namespace sockprobe {

namespace {

// Closes an fd on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void Fail(NetSupport* out, int err, const char* step) {
  out->sock_diag_errno = err != 0 ? err : EIO;
  out->sock_diag_step = step;
}

// An exact (not dump) lookup of `listener` by address and port: the kernel finds it in its
// listening hash and answers with one inet_diag_msg, without walking the host's sockets.
void CheckSockDiag(const sockaddr_in& listener, ino_t inode, NetSupport* out) {
  Fd sock{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)};
  if (sock.fd < 0) return Fail(out, errno, "socket");
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message;
  std::memset(&message, 0, sizeof message);
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  message.header.nlmsg_seq = 1;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = 0xffffffffu;
  message.request.id.idiag_sport = listener.sin_port;
  message.request.id.idiag_src[0] = listener.sin_addr.s_addr;
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  iovec iov{&message, sizeof message};
  msghdr header{};
  header.msg_name = &kernel;
  header.msg_namelen = sizeof kernel;
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  if (sendmsg(sock.fd, &header, 0) < 0) return Fail(out, errno, "sendmsg");
  alignas(nlmsghdr) uint8_t answer[1024];
  ssize_t received;
  do received = recv(sock.fd, answer, sizeof answer, MSG_DONTWAIT);
  while (received < 0 && errno == EINTR);
  // The kernel answers within sendmsg(); nothing there means it did not answer at all.
  if (received < 0) return Fail(out, errno, "recv");
  const auto* reply = reinterpret_cast<const nlmsghdr*>(answer);
  if (!NLMSG_OK(reply, static_cast<size_t>(received))) return Fail(out, EBADMSG, "recv");
  if (reply->nlmsg_type == NLMSG_ERROR) {
    const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(reply));
    return Fail(out, error->error < 0 ? -error->error : EBADMSG, "sock_diag");
  }
  const auto* row = static_cast<const inet_diag_msg*>(NLMSG_DATA(reply));
  if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY || reply->nlmsg_len < NLMSG_LENGTH(sizeof *row) ||
      row->idiag_inode != inode)
    return Fail(out, ENOMSG, "sock_diag");
  out->sock_diag_errno = 0;
}

}  // namespace

NetSupport CheckNetSupport() {
  NetSupport out;
  Fd listener{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t address_length = sizeof address;
  struct stat st {};
  const char* step = nullptr;
  if (listener.fd < 0)
    step = "socket";
  else if (bind(listener.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    step = "bind";
  else if (listen(listener.fd, 1) != 0)
    step = "listen";
  else if (getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0)
    step = "getsockname";
  else if (fstat(listener.fd, &st) != 0)
    step = "fstat";
  if (step != nullptr) {
    const int err = errno;
    out.tcp_info_errno = err;
    out.tcp_info_syscall = step;
    Fail(&out, err, step);
    return out;
  }
  uint8_t info[kTcpInfoCapacity];
  socklen_t info_length = sizeof info;
  if (getsockopt(listener.fd, IPPROTO_TCP, TCP_INFO, info, &info_length) != 0) {
    out.tcp_info_errno = errno;
    out.tcp_info_syscall = "getsockopt";
  } else {
    out.tcp_info_length = static_cast<int>(info_length);
  }
  CheckSockDiag(address, st.st_ino, &out);
  return out;
}

}  // namespace sockprobe
