// Fragments the main arena like a TLS spike (per connection: OpenSSL-sized buffers and many small
// objects, one small object per connection kept alive), frees it, then times malloc_trim's parts:
// malloc_consolidate (mallopt runs it), the trim (bin walk + madvise), a second trim (walk +
// madvise with nothing left to zap). User vs system CPU from RUSAGE_THREAD; madvise count by strace.
// Build and run: gcc -O2 -o /tmp/trim-split bench/trim-split.c && /tmp/trim-split 5000 [small|big]
//   (strace -c -e trace=madvise /tmp/trim-split 5000 counts the madvise calls; GLIBC_TUNABLES=glibc.malloc.hugetlb=1 asks for THP)
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static void cpu(double *u, double *s) { struct rusage r; getrusage(RUSAGE_THREAD, &r);
  *u = r.ru_utime.tv_sec * 1e3 + r.ru_utime.tv_usec / 1e3; *s = r.ru_stime.tv_sec * 1e3 + r.ru_stime.tv_usec / 1e3; }
static long rss_kib(void) { FILE *f = fopen("/proc/self/statm", "r"); long a, b; fscanf(f, "%ld %ld", &a, &b); fclose(f); return b * 4; }
#define PER 64
static void sched(double *run, double *wait) { FILE *f = fopen("/proc/thread-self/schedstat", "r"); double a, b; fscanf(f, "%lf %lf", &a, &b); fclose(f); *run = a / 1e6; *wait = b / 1e6; }
static void phase(const char *name, void (*fn)(void)) {
  double u0, s0, u1, s1, r0, w0, r1, w1; cpu(&u0, &s0); sched(&r0, &w0); double t0 = now_ms(); fn(); double t1 = now_ms(); cpu(&u1, &s1); sched(&r1, &w1);
  printf("%-38s wall %6.1f ms  on-cpu %6.1f  runq-wait %6.1f  user %6.1f  sys %6.1f  rss %ld MiB\n", name, t1 - t0, r1 - r0, w1 - w0, u1 - u0, s1 - s0, rss_kib() / 1024);
}
static void consolidate(void) { mallopt(M_MXFAST, 64 * sizeof(size_t) / 4); }
static void trim(void) { malloc_trim(0); }
int main(int argc, char **argv) {
  int conns = argc > 1 ? atoi(argv[1]) : 5000;
  int small_only = argc > 2 && !strcmp(argv[2], "small");  // no big buffers: cost ~ chunks?
  int big_only = argc > 2 && !strcmp(argv[2], "big");
  void **keep = calloc(conns, sizeof(void *));
  void **ptrs = calloc((size_t)conns * PER, sizeof(void *));
  srand(1);
  size_t bytes = 0;
  for (int c = 0; c < conns; c++) {
    for (int i = 0; i < PER; i++) {
      size_t n;
      if (i < 2) n = big_only || !small_only ? 17 * 1024 + 300 + rand() % 512 : 64;  // OpenSSL record buffers
      else if (i < 6) n = small_only ? 200 : 1024 + rand() % 3072;                 // BIOs, SSL, session
      else n = big_only ? 0 : 16 + rand() % 480;                                    // small objects
      if (!n) continue;
      ptrs[(size_t)c * PER + i] = malloc(n); memset(ptrs[(size_t)c * PER + i], 1, n); bytes += n;
    }
    keep[c] = malloc(48 + rand() % 64);  // survives: splits the freed space into per-connection holes
  }
  printf("allocated %.1f MiB in %d connections, rss %ld MiB\n", bytes / 1048576.0, conns, rss_kib() / 1024);
  for (size_t i = 0; i < (size_t)conns * PER; i++) free(ptrs[i]);
  printf("freed, rss %ld MiB\n", rss_kib() / 1024);
  phase("malloc_consolidate (via mallopt)", consolidate);
  phase("malloc_trim #1 (walk + madvise)", trim);
  phase("malloc_trim #2 (walk, nothing to zap)", trim);
  return 0;
}
