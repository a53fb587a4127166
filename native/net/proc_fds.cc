#include "net/proc_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace sockprobe {

namespace {

constexpr size_t kDirentBytes = 256 * 1024;
constexpr long kPollChunk = 16384;  // 128 KiB of pollfd at a time, whatever the table's size
// Closed fd numbers the dense scan steps over (~0.3 µs each) before it polls the rest instead.
constexpr long kMaxMisses = 4096;

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

bool Fail(FdScan* scan, const char* syscall, int err) {
  scan->err = err;
  scan->syscall = syscall;
  return false;
}

// "socket:[inode]" -> inode; anything else is not a socket.
bool ParseSocketLink(const char* link, ssize_t length, uint32_t* inode) {
  static const char kPrefix[] = "socket:[";
  constexpr ssize_t kPrefixLength = sizeof(kPrefix) - 1;
  if (length <= kPrefixLength + 1 || std::memcmp(link, kPrefix, kPrefixLength) != 0 || link[length - 1] != ']')
    return false;
  uint64_t value = 0;
  for (ssize_t i = kPrefixLength; i < length - 1; i++) {
    if (link[i] < '0' || link[i] > '9') return false;
    value = value * 10 + static_cast<uint64_t>(link[i] - '0');
  }
  *inode = static_cast<uint32_t>(value);
  return true;
}

// The size of this process's fd table (FDSize in /proc/self/status): every open fd is below it.
bool FdTableSize(FdScan* scan, long* size) {
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(scan, "open", errno);
  char text[4096];
  ssize_t length;
  while ((length = read(fd, text, sizeof(text) - 1)) < 0 && errno == EINTR) {
  }
  const int err = errno;
  close(fd);
  if (length < 0) return Fail(scan, "read", err);
  text[length] = '\0';
  const char* at = std::strstr(text, "\nFDSize:");
  if (at == nullptr) return Fail(scan, "read", ENODATA);
  *size = std::strtol(at + 8, nullptr, 10);
  return true;
}

// How many fds this process has open: the size Linux reports for /proc/self/fd (6.2 on). 0
// when the kernel reports none (older kernels give 0), and the scan then polls instead.
long OpenFdCount() {
  struct stat st {};
  if (stat("/proc/self/fd", &st) != 0) return 0;
  return static_cast<long>(st.st_size);
}

void Record(FdScan* scan, int fd, const struct stat& st) {
  scan->open++;
  if (S_ISSOCK(st.st_mode)) scan->socket_fds.emplace(static_cast<uint32_t>(st.st_ino), fd);
}

// poll() with POLLNVAL finds the open fds of [first, size) in one syscall per chunk, then one
// fstat() per open fd. Each open socket costs the poll ~0.4 µs more (its poll method runs).
bool PollThenStat(FdScan* scan, long first, long size) {
  std::vector<pollfd> chunk;
  for (; first < size; first += kPollChunk) {
    const long end = first + kPollChunk < size ? first + kPollChunk : size;
    chunk.clear();
    for (long fd = first; fd < end; fd++) chunk.push_back(pollfd{static_cast<int>(fd), 0, 0});
    while (poll(chunk.data(), chunk.size(), 0) < 0) {
      if (errno != EINTR) return Fail(scan, "poll", errno);
    }
    for (const pollfd& entry : chunk) {
      if (entry.revents & POLLNVAL) continue;
      // A fd closed since the poll fails here and is simply not one of ours.
      struct stat st {};
      if (fstat(entry.fd, &st) == 0) Record(scan, entry.fd, st);
    }
  }
  return true;
}

// This process: fstat on the fd itself gives the socket inode without a path walk (readlink of
// /proc/self/fd/N costs ~5x more; reading /proc/self/fd makes the kernel look up a dentry per
// fd). Fd tables are dense (the lowest free number is taken), so when the kernel says how many
// fds are open, one fstat() per number from 0 finds them all up to the last, and a poll pass
// over the rest of the table only confirms it is closed. A table with holes falls back to
// polling after kMaxMisses closed numbers.
bool ScanOwnFds(FdScan* scan) {
  long size = 0;
  if (!FdTableSize(scan, &size)) return false;
  // poll() refuses more entries than RLIMIT_NOFILE; no fd sits at or above the soft limit
  // unless the limit was lowered after it was opened, which this scan then does not see.
  if (scan->limit_soft != 0 && static_cast<uint64_t>(size) > scan->limit_soft)
    size = static_cast<long>(scan->limit_soft);
  scan->socket_fds.reserve(1024);
  const long expected = OpenFdCount();
  if (expected <= 0) return PollThenStat(scan, 0, size);
  long misses = 0;
  long fd = 0;
  for (; fd < size && static_cast<long>(scan->open) < expected; fd++) {
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) == 0) {
      Record(scan, static_cast<int>(fd), st);
    } else if (errno == EBADF) {
      if (++misses > kMaxMisses) return PollThenStat(scan, fd + 1, size);
    }
  }
  // The count is a moment's: another thread that opens a fd into a hole below the scan (an
  // accept, a /proc read) makes the count reached one fd early, and the highest fd, often the
  // newest connection, would be missed. The rest of the table is mostly closed numbers, which
  // poll() answers cheaply, so one poll pass over it finds whatever the count left out.
  return PollThenStat(scan, fd, size);
}

// Another process's fds cannot be fstat'ed from here: read its "socket:[inode]" links.
bool ScanOtherFds(int pid, FdScan* scan) {
  char path[48];
  std::snprintf(path, sizeof(path), "/proc/%d/fd", pid);
  const int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Fail(scan, "open", errno);
  std::vector<char> buffer(kDirentBytes);
  bool ok = true;
  for (;;) {
    const long length = syscall(SYS_getdents64, dir, buffer.data(), buffer.size());
    if (length < 0) {
      if (errno == EINTR) continue;
      ok = Fail(scan, "getdents64", errno);
      break;
    }
    if (length == 0) break;
    for (long at = 0; at < length;) {
      const LinuxDirent64* entry = reinterpret_cast<const LinuxDirent64*>(buffer.data() + at);
      at += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      scan->open++;
      char link[64];
      const ssize_t link_length = readlinkat(dir, entry->d_name, link, sizeof(link));
      uint32_t inode = 0;
      if (link_length > 0 && ParseSocketLink(link, link_length, &inode)) {
        scan->socket_fds.emplace(inode, static_cast<int>(std::strtol(entry->d_name, nullptr, 10)));
      }
    }
  }
  close(dir);
  return ok;
}

}  // namespace

FdScan ScanProcessFds(int pid) {
  FdScan scan;
  rlimit limit{};
  if (prlimit(pid, RLIMIT_NOFILE, nullptr, &limit) == 0) {
    scan.limit_soft = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
    scan.limit_hard = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : limit.rlim_max;
  }
  scan.own = pid == 0;
  if (pid == 0)
    ScanOwnFds(&scan);
  else
    ScanOtherFds(pid, &scan);
  return scan;
}

}  // namespace sockprobe
