// Which socket inodes a process holds, and at which fd.
#pragma once
#include <cstdint>
#include <unordered_map>

namespace sockprobe {

struct FdScan {
  std::unordered_map<uint32_t, int> socket_fds;  // socket inode -> lowest fd holding it
  uint32_t open = 0;                             // fds open, not counting the scan's own
  uint64_t limit_soft = 0;                       // RLIMIT_NOFILE; UINT64_MAX when unlimited
  uint64_t limit_hard = 0;
  bool own = true;  // this process's fds (getsockname works on them)
  int err = 0;
  const char* syscall = nullptr;
};

// Blocking: run it on the threadpool. pid 0 is this process: one poll() over its fd table
// finds the open fds and one fstat() per open fd tells sockets and their inodes. Another
// process: /proc/<pid>/fd read with getdents64 and one readlink per fd.
FdScan ScanProcessFds(int pid);

}  // namespace sockprobe
