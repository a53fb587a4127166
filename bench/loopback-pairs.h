// The bench harnesses' load: n loopback TCP connections to `listener` (bound and listening at
// `to`), their client ends held by a forked child (`*child`, for the caller to kill) that waits
// forever, their server ends returned.
#pragma once
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

inline std::vector<int> OpenLoopbackPairs(int listener, const sockaddr_in& to, int n, pid_t* child) {
  *child = fork();
  if (*child == 0) {
    std::vector<int> clients;
    for (int i = 0; i < n; i++) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(s, (const sockaddr*)&to, sizeof(to))) perror("connect");
      clients.push_back(s);
    }
    pause();
    _exit(0);
  }
  std::vector<int> accepted;
  while ((int)accepted.size() < n) {
    int s = accept(listener, 0, 0);
    if (s < 0) {
      perror("accept");
      _exit(1);
    }
    accepted.push_back(s);
  }
  return accepted;
}
