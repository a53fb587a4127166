// Which socket inodes this process holds, and at which fd, from /proc/self/fd.
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

// Blocking (one fstat per fd): run it on the threadpool.
FdScan ScanProcessFds();

}  // namespace sockprobe
