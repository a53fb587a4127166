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

// Blocking: run it on the threadpool. pid 0 is this process: one fstat() per fd number from 0
// until as many fds as /proc/self/fd counts are found tells sockets and their inodes (poll()
// finds the open fds of a table with holes). Another
// process: /proc/<pid>/fd read with getdents64 and one readlink per fd.
FdScan ScanProcessFds(int pid);

}  // namespace sockprobe
