// The snapshot's native scan and dump at two commits, alternating in one process (11 rounds,
// medians; the new code's on-CPU time too), N loopback connections to a dual-stack listener (clients in a forked
// child). Build: copy the old commit's native/net/{proc_fds,diag_dump,port_filter,local_ports}.cc and headers to
// /tmp/old/net, then
//   for f in proc_fds diag_dump port_filter local_ports; do
//     g++ -O2 -std=c++17 -fno-exceptions -c -Dsockprobe=oldsp -I/tmp/old /tmp/old/net/$f.cc -o /tmp/old_$f.o; done
//   g++ -O2 -std=c++17 -fno-exceptions -pthread -Inative bench/sock-diag-compare.cc native/net/{diag_dump,proc_fds,\
//     port_filter,local_ports}.cc /tmp/old_*.o -o /tmp/sock-diag-compare && nice /tmp/sock-diag-compare 10000
// The old commit's FdScan and DiagResult are declared here as they were at 13b4e85.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <unordered_map>
#include <vector>

#include "loopback-pairs.h"
#include "net/diag_dump.h"
namespace oldsp {
struct FdScan {
  std::unordered_map<uint32_t, int> socket_fds;
  uint32_t open = 0;
  uint64_t limit_soft = 0;
  uint64_t limit_hard = 0;
  bool own = true;
  int err = 0;
  const char* syscall = nullptr;
};
FdScan ScanProcessFds(int pid);
struct DiagResult {
  std::vector<uint8_t> rows;
  uint32_t count = 0;
  uint32_t listeners = 0;
  std::map<uint32_t, uint32_t> by_local_port;
  std::map<uint32_t, uint32_t> by_remote_port;
  uint32_t host_sockets = 0;
  uint32_t filter_ports = 0;
  bool unfiltered = false;
  uint32_t dumps = 0;
  int err = 0;
  const char* syscall = nullptr;
};
DiagResult DumpProcessTcpSockets(const FdScan& fds);
}  // namespace oldsp
static double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static double cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}
static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
static void* idle(void*) {
  for (;;) pause();
}
int main(int argc, char** argv) {
  int N = argc > 1 ? atoi(argv[1]) : 10000;
  int L = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a6{};
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_any;
  bind(L, (sockaddr*)&a6, sizeof(a6));
  listen(L, 4096);
  socklen_t al = sizeof(a6);
  getsockname(L, (sockaddr*)&a6, &al);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = a6.sin6_port;
  pid_t child = 0;
  std::vector<int> acc = OpenLoopbackPairs(L, a, N, &child);
  pthread_t t;
  pthread_create(&t, nullptr, idle, nullptr);
  const int R = 11;
  std::vector<double> so, sn, dold, dnew, sn_cpu, dnew_cpu, faults;
  for (int r = 0; r < R; r++) {
    double t0 = now();
    auto os = oldsp::ScanProcessFds(0);
    double t1 = now();
    auto od = oldsp::DumpProcessTcpSockets(os);
    double t2 = now();
    double c2 = cpu();
    const long faults_before = MinorFaults();
    auto ns = sockprobe::ScanProcessFds(0);
    double t3 = now();
    double c3 = cpu();
    auto nd = sockprobe::DumpProcessTcpSockets(ns);
    double t4 = now();
    faults.push_back(MinorFaults() - faults_before);
    sn_cpu.push_back(c3 - c2);
    dnew_cpu.push_back(cpu() - c3);
    so.push_back(t1 - t0);
    dold.push_back(t2 - t1);
    sn.push_back(t3 - t2);
    dnew.push_back(t4 - t3);
    if (r == 0)
      printf("old rows %u sent %u dumps %u; new rows %u sent %u dumps %u; rows equal %d\n", od.count, od.host_sockets,
             od.dumps, nd.count, nd.host_sockets, nd.dumps,
             (int)(od.count == nd.count && od.by_local_port == nd.by_local_port));
  }
  for (auto* v : {&so, &dold, &sn, &dnew}) std::sort(v->begin(), v->end());
  printf("old: scan %.2f dump %.2f total %.2f | new: scan %.2f dump %.2f total %.2f (medians, ms)\n", so[R / 2],
         dold[R / 2], so[R / 2] + dold[R / 2], sn[R / 2], dnew[R / 2], sn[R / 2] + dnew[R / 2]);
  printf(
      "new on-CPU: scan %.2f dump %.2f (medians, ms; the rest of the wall time waited for a core), %.0f minor faults\n",
      median(sn_cpu), median(dnew_cpu), median(faults));
  kill(child, SIGKILL);
  waitpid(child, 0, 0);
}
