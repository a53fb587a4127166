// This process's TCP sockets from NETLINK_SOCK_DIAG dumps, kept when they belong to it: the
// inode is one of ours, or (TIME_WAIT, SYN_RECV: no inode) the local address and port are one
// of our listeners'. The same holds for orphans (closed by the app, still finishing in the
// kernel: FIN_WAIT1/2, LAST_ACK, CLOSING). The dumps are filtered in the kernel on our local
// ports, so their cost follows this process's sockets, not the host's; the inode match stays
// the truth, the filter only narrows what the kernel sends.
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
  uint32_t filter_ports = 0;  // local ports in the kernel-side filter
  bool unfiltered = false;    // too many ports for one bytecode program: some dump walked the host unfiltered
  uint32_t dumps = 0;         // dump requests sent
  int err = 0;
  const char* syscall = nullptr;
};

// Blocking: run it on the threadpool. The rows go into `rows` (emptied first: a spare buffer
// whose pages are already there, see net/rows_pool.h).
DiagResult DumpProcessTcpSockets(const FdScan& fds, std::vector<uint8_t> rows = {});

}  // namespace sockprobe
