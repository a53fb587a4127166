#include "net/proc_fds.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sockprobe {

// Another process's fds cannot be fstat'ed from here: read the "socket:[inode]" link instead.
static bool SocketInodeOf(int dir_fd, const char* name, uint32_t* inode) {
  char link[64];
  const ssize_t length = readlinkat(dir_fd, name, link, sizeof(link) - 1);
  if (length <= 0) return false;
  link[length] = '\0';
  unsigned long value = 0;
  if (std::sscanf(link, "socket:[%lu]", &value) != 1) return false;
  *inode = static_cast<uint32_t>(value);
  return true;
}

FdScan ScanProcessFds(int pid) {
  FdScan scan;
  rlimit limit{};
  if (prlimit(pid, RLIMIT_NOFILE, nullptr, &limit) == 0) {
    scan.limit_soft = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
    scan.limit_hard = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : limit.rlim_max;
  }
  char path[48];
  if (pid == 0) std::snprintf(path, sizeof(path), "/proc/self/fd");
  else std::snprintf(path, sizeof(path), "/proc/%d/fd", pid);
  DIR* dir = opendir(path);
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
    if (pid == 0 && fd == own) continue;
    scan.open++;
    if (pid != 0) {
      uint32_t inode = 0;
      if (SocketInodeOf(own, entry->d_name, &inode)) scan.socket_fds.emplace(inode, fd);
      continue;
    }
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
