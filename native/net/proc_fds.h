// Which socket inodes a process holds, and at which fd, from /proc/<pid>/fd.
#pragma once
#include <cstdint>
#include <unordered_map>

namespace sockprobe {

struct FdScan {
  std::unordered_map<uint32_t, int> socket_fds;  // socket inode -> lowest fd holding it
  uint32_t open = 0;                              // fds open, not counting the scan's own
  uint64_t limit_soft = 0;                        // RLIMIT_NOFILE; UINT64_MAX when unlimited
  uint64_t limit_hard = 0;
  int err = 0;
  const char* syscall = nullptr;
};

// Blocking (one fstat or readlink per fd): run it on the threadpool. pid 0 is this process.
FdScan ScanProcessFds(int pid);

}  // namespace sockprobe
