// Every TCP socket on the host from one NETLINK_SOCK_DIAG dump per address family, kept
// when it belongs to this process: its inode is one of ours, or (TIME_WAIT, SYN_RECV: no
// inode) its local address and port are one of our listeners'. The same holds for orphans
// (closed by the app, still finishing in the kernel: FIN_WAIT1/2, LAST_ACK, CLOSING).
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "net/proc_fds.h"

namespace sockprobe {

struct DiagResult {
  std::vector<uint8_t> rows;  // row::kBytes each (net/probe_layout.h), listeners first
  uint32_t count = 0;
  uint32_t listeners = 0;
  // Counts keyed by port * 16 + state: every row by local port, client rows by remote port.
  // Counted here so the event loop gets a handful of totals, not a loop over every row.
  std::map<uint32_t, uint32_t> by_local_port;
  std::map<uint32_t, uint32_t> by_remote_port;
  uint32_t host_sockets = 0;  // TCP sockets the kernel sent (other processes' included), for scale
  int err = 0;
  const char* syscall = nullptr;
};

// Blocking: run it on the threadpool.
DiagResult DumpProcessTcpSockets(const FdScan& fds);

}  // namespace sockprobe
