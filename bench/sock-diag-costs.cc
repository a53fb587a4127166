// What a sock_diag dump and an fd scan cost, piece by piece, with N loopback connections (the
// clients in a forked child). Dumps filtered on the listener's port (or on port 1: the walk
// alone), with each extension set, with and without BOUND_INACTIVE (the bind-hash walk); then
// per-fd scans (poll, fstat, statx, readlink, fcntl, two threads) and a dump beside an fstat pass.
// Build and run: g++ -O2 -std=c++17 -pthread bench/sock-diag-costs.cc -o /tmp/sock-diag-costs &&
//   nice /tmp/sock-diag-costs 10000        (needs 2N + 64 fds: ulimit -n)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <vector>

#include "loopback-pairs.h"
static double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static uint16_t gport;
static int nl;
struct Cond {
  inet_diag_bc_op op;
  uint8_t family, prefix_len;
  int port;
};
int dump(uint32_t ext, size_t buf, int* msgs, int* recvs, bool parse) {
  inet_diag_req_v2 body{};
  body.sdiag_family = AF_INET;
  body.sdiag_protocol = IPPROTO_TCP;
  body.idiag_states = (ext & 0x80000000u) ? ~(1u << 10) : ~((1u << 10) | (1u << 13));
  ext &= ~0x80000000u;
  bool nomatch = (ext & 0x7FFF0000u) == 0x7FFF0000u;
  body.idiag_ext = nomatch ? 0 : ext;
  uint16_t port = nomatch ? 1 : gport;
  // filter sport == gport: S_COND yes->JMP to end
  struct {
    nlmsghdr h;
    inet_diag_req_v2 b;
    rtattr a;
    Cond c;
    inet_diag_bc_op j;
  } __attribute__((packed)) m{};
  Cond c{};
  c.op.code = INET_DIAG_BC_S_COND;
  c.op.yes = sizeof(Cond);
  c.op.no = sizeof(Cond) + 4 + 4;
  c.family = AF_UNSPEC;
  c.port = port;
  inet_diag_bc_op j{INET_DIAG_BC_JMP, 4, 4};
  m.h.nlmsg_len = sizeof(m);
  m.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  m.h.nlmsg_seq = 1;
  m.b = body;
  m.a.rta_type = INET_DIAG_REQ_BYTECODE;
  m.a.rta_len = RTA_LENGTH(sizeof(Cond) + 4);
  m.c = c;
  m.j = j;
  sockaddr_nl k{};
  k.nl_family = AF_NETLINK;
  if (sendto(nl, &m, sizeof(m), 0, (sockaddr*)&k, sizeof(k)) < 0) {
    perror("sendto");
    exit(1);
  }
  static std::vector<char> b;
  b.resize(buf);
  *msgs = 0;
  *recvs = 0;
  long sum = 0;
  for (;;) {
    ssize_t n = recv(nl, b.data(), b.size(), 0);
    (*recvs)++;
    if (n < 0) {
      perror("recv");
      exit(1);
    }
    int rem = n;
    for (nlmsghdr* h = (nlmsghdr*)b.data(); NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
      if (h->nlmsg_type == NLMSG_DONE) return sum;
      if (h->nlmsg_type == NLMSG_ERROR) {
        fprintf(stderr, "nlerr\n");
        exit(1);
      }
      (*msgs)++;
      if (parse) sum += ((inet_diag_msg*)NLMSG_DATA(h))->idiag_inode;
    }
  }
}
int main(int argc, char** argv) {
  int N = argc > 1 ? atoi(argv[1]) : 10000;
  int L = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(L, (sockaddr*)&a, sizeof(a));
  listen(L, 4096);
  socklen_t al = sizeof(a);
  getsockname(L, (sockaddr*)&a, &al);
  gport = ntohs(a.sin_port);
  pid_t child = 0;
  std::vector<int> acc = OpenLoopbackPairs(L, a, N, &child);
  nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  struct V {
    const char* name;
    uint32_t ext;
    size_t buf;
  };
  uint32_t INFO = 1 << (INET_DIAG_INFO - 1), SKMEM = 1 << (INET_DIAG_SKMEMINFO - 1), MEM = 1 << (INET_DIAG_MEMINFO - 1);
  V vs[] = {{"walk only", 0x7FFF0000u, 65536},
            {"walk+bindhash", 0xFFFF0000u, 65536},
            {"info+skmem 64K", INFO | SKMEM, 65536},
            {"info+skmem+bind", 0x80000000u | INFO | SKMEM, 65536},
            {"skmem", SKMEM, 65536},
            {"info", INFO, 65536},
            {"none", 0, 65536},
            {"meminfo", MEM, 65536}};
  const int R = 9;
  std::vector<double> t[8];
  int msgs = 0, recvs = 0;
  for (int r = 0; r < R; r++)
    for (int v = 0; v < 8; v++) {
      double s = now();
      dump(vs[v].ext, vs[v].buf, &msgs, &recvs, true);
      t[v].push_back(now() - s);
      if (r == 0) printf("%s: msgs %d recvs %d\n", vs[v].name, msgs, recvs);
    }
  for (int v = 0; v < 8; v++) {
    std::sort(t[v].begin(), t[v].end());
    printf("dump %-16s median %.2f ms min %.2f\n", vs[v].name, t[v][R / 2], t[v][0]);
  }
  // fd scans
  int maxfd = acc.back() + 16;
  auto med = [&](auto fn) {
    std::vector<double> x;
    for (int r = 0; r < R; r++) {
      double s = now();
      fn();
      x.push_back(now() - s);
    }
    std::sort(x.begin(), x.end());
    return std::make_pair(x[R / 2], x[0]);
  };
  std::vector<pollfd> p(maxfd);
  for (int i = 0; i < maxfd; i++) p[i] = {i, 0, 0};
  auto r1 = med([&] { poll(p.data(), p.size(), 0); });
  auto r2 = med([&] {
    long s = 0;
    for (int i = 0; i < maxfd; i++) {
      struct stat st;
      if (fstat(i, &st) == 0) s += st.st_ino;
    }
  });
  auto r3 = med([&] {
    long s = 0;
    for (int i = 0; i < maxfd; i++) {
      struct statx st;
      if (statx(i, "", AT_EMPTY_PATH, 0, &st) == 0) s += st.stx_ino;
    }
  });
  auto r4 = med([&] {
    char path[64], link[64];
    for (int i = 0; i < maxfd; i++) {
      snprintf(path, 64, "/proc/self/fd/%d", i);
      readlink(path, link, 64);
    }
  });
  auto r5 = med([&] {
    long s[2] = {0, 0};
    auto w = [&](int lo, int hi, long* o) {
      for (int i = lo; i < hi; i++) {
        struct stat st;
        if (fstat(i, &st) == 0) *o += st.st_ino;
      }
    };
    std::thread th(w, 0, maxfd / 2, &s[0]);
    w(maxfd / 2, maxfd, &s[1]);
    th.join();
  });
  auto r6 = med([&] {
    int x = 0;
    for (int i = 0; i < maxfd; i++) x += fcntl(i, F_GETFD);
  });
  auto r7 = med([&] {
    std::thread th([] {});
    th.join();
  });
  auto r8 = med([&] {
    std::unordered_map<uint32_t, int> m;
    m.reserve(1024);
    for (int i = 0; i < maxfd; i++) {
      struct stat st;
      if (fstat(i, &st) == 0 && S_ISSOCK(st.st_mode)) m.emplace(st.st_ino, i);
    }
  });
  // dump and fd scan in parallel
  auto r9 = med([&] {
    std::thread th([&] {
      for (int i = 0; i < maxfd; i++) {
        struct stat st;
        fstat(i, &st);
      }
    });
    int a, b;
    dump(INFO | SKMEM, 65536, &a, &b, true);
    th.join();
  });
  printf(
      "fds %d: poll %.2f/%.2f fstat %.2f/%.2f statx0 %.2f/%.2f readlink %.2f/%.2f fstat2thr %.2f/%.2f fcntl %.2f/%.2f "
      "thread %.3f fstat+map %.2f/%.2f dump||fstat %.2f/%.2f\n",
      maxfd, r1.first, r1.second, r2.first, r2.second, r3.first, r3.second, r4.first, r4.second, r5.first, r5.second,
      r6.first, r6.second, r7.first, r8.first, r8.second, r9.first, r9.second);
  kill(child, SIGKILL);
  waitpid(child, 0, 0);
}
