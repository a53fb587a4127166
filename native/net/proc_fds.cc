#include "net/proc_fds.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdlib>

namespace sockprobe {

FdScan ScanProcessFds() {
  FdScan scan;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    scan.limit_soft = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
    scan.limit_hard = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : limit.rlim_max;
  }
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    scan.err = errno;
    scan.syscall = "opendir";
    return scan;
  }
  const int own = dirfd(dir);
  scan.socket_fds.reserve(1024);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = static_cast<int>(std::strtol(entry->d_name, nullptr, 10));
    if (fd == own) continue;
    scan.open++;
    // fstat on the fd itself gives the same inode as the "socket:[inode]" link without a
    // path walk per fd. A fd closed meanwhile fails here and is simply not a socket of ours.
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    scan.socket_fds.emplace(static_cast<uint32_t>(st.st_ino), fd);
  }
  closedir(dir);
  return scan;
}

}  // namespace sockprobe
