// What learning a socket's identity from its fd costs per fd, with N loopback connections held
// by this process (their clients in a forked child): fstat (st_ino), getsockopt(SO_COOKIE) (the
// 64-bit cookie sock_diag reports as idiag_cookie), statx(STATX_INO), and fcntl(F_GETFD) as the
// floor of a syscall that only looks the fd up. The methods alternate within each round, in a
// rotated order, so a busy neighbour on a shared machine loads them alike. It also checks that
// the cookie matches the dump's and what a non-socket and a closed fd answer.
// Build and run: g++ -O2 -std=c++17 bench/fd-identity-costs.cc -o /tmp/fd-identity-costs &&
//   nice /tmp/fd-identity-costs 10000 15        (needs 2N + 64 fds: ulimit -n)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "loopback-pairs.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static double Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long ScanFstat(int end) {
  long sum = 0;
  for (int fd = 0; fd < end; fd++) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) sum += st.st_ino;
  }
  return sum;
}

static long ScanCookie(int end) {
  long sum = 0;
  for (int fd = 0; fd < end; fd++) {
    uint64_t cookie = 0;
    socklen_t length = sizeof(cookie);
    if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &length) == 0) sum += cookie;
  }
  return sum;
}

static long ScanStatx(int end) {
  long sum = 0;
  for (int fd = 0; fd < end; fd++) {
    struct statx st;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_TYPE, &st) == 0 && S_ISSOCK(st.stx_mode)) sum += st.stx_ino;
  }
  return sum;
}

static long ScanFcntl(int end) {
  long sum = 0;
  for (int fd = 0; fd < end; fd++) sum += fcntl(fd, F_GETFD);
  return sum;
}

// The cookies a dump of the listener's port reports, keyed by inode.
static std::unordered_map<uint32_t, uint64_t> DumpCookies(uint16_t port) {
  std::unordered_map<uint32_t, uint64_t> cookies;
  int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  struct {
    nlmsghdr h;
    inet_diag_req_v2 b;
  } m{};
  m.h.nlmsg_len = sizeof(m);
  m.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  m.b.sdiag_family = AF_INET;
  m.b.sdiag_protocol = IPPROTO_TCP;
  m.b.idiag_states = ~0u;
  sockaddr_nl k{};
  k.nl_family = AF_NETLINK;
  sendto(nl, &m, sizeof(m), 0, (sockaddr*)&k, sizeof(k));
  std::vector<char> b(65536);
  for (;;) {
    ssize_t n = recv(nl, b.data(), b.size(), 0);
    if (n <= 0) break;
    int rem = (int)n;
    for (nlmsghdr* h = (nlmsghdr*)b.data(); NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        close(nl);
        return cookies;
      }
      const inet_diag_msg* msg = (const inet_diag_msg*)NLMSG_DATA(h);
      if (ntohs(msg->id.idiag_sport) != port) continue;
      uint64_t cookie = (uint64_t)msg->id.idiag_cookie[0] | ((uint64_t)msg->id.idiag_cookie[1] << 32);
      cookies[msg->idiag_inode] = cookie;
    }
  }
  close(nl);
  return cookies;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 10000;
  const int rounds = argc > 2 ? atoi(argv[2]) : 15;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, (sockaddr*)&a, sizeof(a));
  listen(listener, 4096);
  socklen_t al = sizeof(a);
  getsockname(listener, (sockaddr*)&a, &al);
  pid_t child = 0;
  std::vector<int> accepted = OpenLoopbackPairs(listener, a, n, &child);
  const int end = accepted.back() + 1;

  // Identity checks: every accepted fd's cookie is the dump's cookie for its inode.
  std::unordered_map<uint32_t, uint64_t> dumped = DumpCookies(ntohs(a.sin_port));
  int agree = 0, differ = 0;
  for (int fd : accepted) {
    struct stat st;
    fstat(fd, &st);
    uint64_t cookie = 0;
    socklen_t length = sizeof(cookie);
    getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &length);
    auto found = dumped.find((uint32_t)st.st_ino);
    (found != dumped.end() && found->second == cookie ? agree : differ)++;
  }
  uint64_t cookie = 0;
  socklen_t length = sizeof(cookie);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return 1;
  errno = 0;
  int r = getsockopt(pipe_fds[0], SOL_SOCKET, SO_COOKIE, &cookie, &length);
  const int pipe_errno = errno;
  close(pipe_fds[0]);
  errno = 0;
  r = getsockopt(pipe_fds[0], SOL_SOCKET, SO_COOKIE, &cookie, &length);
  const int closed_errno = errno;
  printf("kernel cookies: %d agree with the dump's, %d differ; pipe fd: %s; closed fd: %s (r=%d)\n", agree, differ,
         strerrorname_np(pipe_errno), strerrorname_np(closed_errno), r);
  close(pipe_fds[1]);

  struct Method {
    const char* name;
    long (*scan)(int);
    std::vector<double> ms;
  } methods[] = {{"fstat", ScanFstat, {}},
                 {"getsockopt SO_COOKIE", ScanCookie, {}},
                 {"statx STATX_INO", ScanStatx, {}},
                 {"fcntl F_GETFD", ScanFcntl, {}}};
  const int count = sizeof(methods) / sizeof(methods[0]);
  long sink = 0;
  for (int i = 0; i < count; i++) sink += methods[i].scan(end);  // warm: cookies generated, caches hot
  for (int round = 0; round < rounds; round++) {
    for (int k = 0; k < count; k++) {
      Method& m = methods[(round + k) % count];
      const double start = Now();
      sink += m.scan(end);
      m.ms.push_back(Now() - start);
    }
  }
  printf("%d fds (%d sockets of ours), %d rounds, alternating:\n", end, n + 1, rounds);
  for (Method& m : methods) {
    std::sort(m.ms.begin(), m.ms.end());
    const double median = m.ms[m.ms.size() / 2];
    printf("  %-22s best %6.2f ms  median %6.2f ms  (%.0f ns per fd median)\n", m.name, m.ms[0], median,
           median * 1e6 / end);
  }
  if (sink == 42) printf("\n");
  kill(child, SIGKILL);
  waitpid(child, 0, 0);
}
