// Whether this kernel (or the emulator between us and it) answers the two interfaces the socket
// probes read: TCP_INFO at full length, and NETLINK_SOCK_DIAG requests. qemu-user copies 4 bytes
// of TCP_INFO and refuses sock_diag sockets; a seccomp profile or a netns can refuse either.
#pragma once
#include <cstdint>

namespace sockprobe {

struct NetSupport {
  // Bytes getsockopt(TCP_INFO) filled for a listening loopback socket, or -1 with the errno.
  int tcp_info_length = -1;
  int tcp_info_errno = 0;
  const char* tcp_info_syscall = nullptr;
  // 0 when an exact sock_diag lookup of that listener answered with its row, else the errno of
  // the step that failed (socket, sendmsg, recv, or the kernel's NLMSG_ERROR), or ENOMSG when
  // the answer was not the listener.
  int sock_diag_errno = 0;
  const char* sock_diag_step = nullptr;
};

// A few syscalls (tens of µs): one listening TCP socket on 127.0.0.1:0, one netlink socket,
// both closed before returning. No allocation.
NetSupport CheckNetSupport();

}  // namespace sockprobe
