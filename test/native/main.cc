// Runs every registered test in a forked child (fresh copies of the process-wide tables, and a
// crash or sanitizer report fails that test alone) and exits 1 when any failed.
//   native-tests FIXTURE_DIR [name-substring]
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "check.h"

namespace {
std::string g_fixture_dir;
}

const std::string& check::FixtureDir() { return g_fixture_dir; }

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_DIR [name-substring]\n", argv[0]);
    return 2;
  }
  g_fixture_dir = argv[1];
  const char* filter = argc > 2 ? argv[2] : "";
  int ran = 0, failed = 0;
  for (const check::Test& test : check::Registry()) {
    if (std::strstr(test.name, filter) == nullptr) continue;
    ++ran;
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child < 0) {
      std::perror("fork");
      return 2;
    }
    if (child == 0) {
      test.run();
      std::fflush(nullptr);
      _exit(check::Failures() == 0 ? 0 : 1);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
    }
    const bool passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!passed) ++failed;
    if (passed)
      std::printf("ok   %s\n", test.name);
    else if (WIFSIGNALED(status))
      std::printf("FAIL %s (killed by signal %d)\n", test.name, WTERMSIG(status));
    else
      std::printf("FAIL %s\n", test.name);
  }
  std::printf("%d tests, %d failed\n", ran, failed);
  return ran == 0 || failed > 0 ? 1 : 0;
}
